"""A fake Aides-territoires for tests and the local run: `python -m planeco_actions.aids.fake --port …` or
`planeco actions fake-aides-territoires …` (see server.py for what it serves and its quirks)."""
