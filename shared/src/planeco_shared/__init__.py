"""Domain-free building blocks every planeco service uses the same way."""
