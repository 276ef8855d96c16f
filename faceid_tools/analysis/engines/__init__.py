"""The engines of the analysis, one backend per module or folder over one base (:mod:`.base`):
:mod:`.pandas`, :mod:`.duckdb` and :mod:`.spark`.  Metrics never import a backend; they reach
one through ``faceid_tools.analysis.source()``."""
