"""System of record: SQLAlchemy Core tables, the engine, migrations and repositories."""
