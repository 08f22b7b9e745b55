"""Entry point for `python -m dagster_project`: the sprintproof CLI."""

from dagster_project.cli import main

main()
