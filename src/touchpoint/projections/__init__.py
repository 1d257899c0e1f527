"""Derived state of the interaction log behind one contract, and the registry that runs it."""
