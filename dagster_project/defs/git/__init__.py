"""Git repositories: the raw git asset and its per-repository partitions."""
