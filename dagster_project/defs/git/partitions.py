"""One partition per configured git repository (dynamic: a repository added to the configuration adds one)."""

import dagster as dg

GIT_REPOS_NAME = "git_repos"
GIT_REPOS = dg.DynamicPartitionsDefinition(name=GIT_REPOS_NAME)
