"""The HTTP API: FastAPI routers, one per resource, over the shared services."""
