"""Campaigns: a questionnaire sent to the collectivités of a territory."""
