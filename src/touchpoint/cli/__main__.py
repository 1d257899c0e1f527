"""`python -m touchpoint.cli`: the `touchpoint` command (how `touchpoint serve` starts the worker
it supervises with the same interpreter, whatever put the `touchpoint` script where)."""

from touchpoint.cli.app import main

main()
