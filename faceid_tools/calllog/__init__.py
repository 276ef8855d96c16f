"""The call log: SQLite store, schema, loading and export."""
