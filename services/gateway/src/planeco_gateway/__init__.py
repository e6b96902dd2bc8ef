"""planeco gateway: the single entry point. Authenticates, forwards, serves the public OpenAPI contract."""
