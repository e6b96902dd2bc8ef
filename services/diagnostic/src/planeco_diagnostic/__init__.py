"""planeco diagnostic service: questionnaire templates, campaigns, invitations, responses, syntheses."""
