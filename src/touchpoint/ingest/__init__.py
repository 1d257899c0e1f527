"""Ingestion: validate at the edge, deduplicate by id, resolve identities, append to the log."""
