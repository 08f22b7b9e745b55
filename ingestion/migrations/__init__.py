"""Versioned SQL migrations for the warehouse, applied in file-name order."""
