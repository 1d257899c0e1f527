"""A seeded synthetic business — customers, campaigns and a contact center — for `touchpoint demo`."""
