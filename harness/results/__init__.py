"""The results database (DuckDB): schema, ingest, read-only queries."""
