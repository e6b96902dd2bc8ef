"""The `planeco` command: every service's sub-commands, the local stack, the OpenAPI contract."""
