"""Use cases shared by every face (API, CLI, later the web pages): they take the open runtime or
a connection and plain values, and return typed, frozen dataclasses."""
