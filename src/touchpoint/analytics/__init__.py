"""Analytics: reports written once as Ibis expressions, run on DuckDB or the system of record."""
