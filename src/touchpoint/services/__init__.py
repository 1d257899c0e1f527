"""Use cases shared by the API and the CLI: they take a connection and plain values."""
