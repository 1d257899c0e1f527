"""The contact center: configuration, the router (offers, reservations, agent states), and what it writes to the log."""
