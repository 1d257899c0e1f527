"""The `touchpoint` command line (Typer): the root app and the error mapping in `app.py`, shared
options in `options.py`, one module per command group. The only package that imports Typer."""

from touchpoint.cli.app import app, main

__all__ = ["app", "main"]
