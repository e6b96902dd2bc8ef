"""The roadmap of a territory: lever by lever, how far its actions go toward the objective."""
