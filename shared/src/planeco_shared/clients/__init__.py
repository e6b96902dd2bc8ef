"""One small typed httpx client per service, for service-to-service calls (never the gateway hot path)."""
