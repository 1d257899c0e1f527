"""The lifecycle stage engine wired to storage: model in force, incremental projection, replay, tick."""
