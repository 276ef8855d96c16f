"""The DuckDB engine: SQL over a Parquet dataset's files (:mod:`.source`), with its order
statistics (:mod:`.order`), sequence properties (:mod:`.properties`), the one-scan daily
summary (:mod:`.daily`) and what the files' footers tell before a row is read (:mod:`.footers`)."""
