"""Data files shipped with the ingestion library (default path excludes)."""
