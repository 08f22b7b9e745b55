"""API and file sources: one raw asset per configured source, partitioned by its scopes."""
