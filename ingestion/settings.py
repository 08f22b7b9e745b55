"""Configuration models of the API and file sources (one per `type:` under `sources:`), validated by pydantic."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
SOURCE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiSourceSettings(_Model):
    """Keys every API source shares: where it is, how to authenticate, how patient to be."""

    name: str | None = Field(default=None, pattern=SOURCE_NAME)
    base_url: str | None = None
    token_env: str | None = Field(default=None, pattern=ENV_NAME)
    since: date | None = None  # how far back the first run reaches; later runs are incremental
    overlap_minutes: int = Field(default=10, ge=0, le=24 * 60)
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    max_wait_seconds: float = Field(default=900.0, ge=0, le=24 * 3600)
    retries: int = Field(default=6, ge=0, le=20)
    page_size: int | None = Field(default=None, ge=1, le=1000)
    # Serve this source from a folder of vendor-shaped exports through the built-in simulator
    # instead of the network (the demo organisation; air-gapped trials).
    replay_dir: str | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        if "@" in value.split("://", 1)[1].split("/", 1)[0]:
            raise ValueError(
                "credentials in the URL are not accepted; put the token in the variable named by token_env"
            )
        return value.rstrip("/")

    def default_name(self) -> str:
        raise NotImplementedError

    @property
    def source_name(self) -> str:
        return self.name or self.default_name()


class ForgeRepo(_Model):
    """A forge repository and, optionally, the git source it feeds (default: same name)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
    git_repo: str | None = None


def _forge_repos(values: list[str | ForgeRepo | dict[str, object]]) -> list[ForgeRepo]:
    return [
        ForgeRepo(name=v) if isinstance(v, str) else v if isinstance(v, ForgeRepo) else ForgeRepo.model_validate(v)
        for v in values
    ]  # fmt: skip


class GitHubSettings(ApiSourceSettings):
    """GitHub.com or GitHub Enterprise Server: PRs, reviews, PR commits, issues, milestones, releases, deployments."""

    type: Literal["github"]
    repos: list[ForgeRepo] = Field(min_length=1)
    # GitHub App installation instead of a token: the app's id, the installation id and the
    # variable holding the app's private key (PEM).
    app_id: int | None = None
    installation_id: int | None = None
    private_key_env: str | None = Field(default=None, pattern=ENV_NAME)
    # Issue labels that set a ticket's type category; first match wins.
    issue_type_labels: dict[str, Literal["feature", "bug", "task", "epic", "incident"]] = {
        "bug": "bug",
        "type: bug": "bug",
        "kind/bug": "bug",
        "incident": "incident",
        "enhancement": "feature",
        "feature": "feature",
        "epic": "epic",
        "task": "task",
        "chore": "task",
    }
    pulls: bool = True
    issues: bool = True
    releases: bool = True
    deployments: bool = True
    # Every N days a run lists the ids of all issues, releases and deployments and marks stored
    # ones that are gone (deleted, transferred) is_deleted; 0: every run.
    reconcile_days: int = Field(default=1, ge=0, le=90)

    @field_validator("repos", mode="before")
    @classmethod
    def _repos(cls, value: object) -> object:
        return _forge_repos(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _auth(self) -> "GitHubSettings":
        app = (self.app_id, self.installation_id, self.private_key_env)
        if any(v is not None for v in app) and not all(v is not None for v in app):
            raise ValueError(
                "a GitHub App needs app_id, installation_id and private_key_env together"
            )
        if self.token_env is None and self.app_id is None and self.replay_dir is None:
            raise ValueError(
                "give token_env (the variable holding a token) or app_id/installation_id/private_key_env"
            )
        return self

    def default_name(self) -> str:
        return "github"

    @property
    def api_url(self) -> str:
        return self.base_url or "https://api.github.com"


class GitLabSettings(ApiSourceSettings):
    """GitLab.com or self-managed: merge requests, approvals, MR commits, issues, iterations, milestones, releases, deployments."""

    type: Literal["gitlab"]
    repos: list[ForgeRepo] = Field(min_length=1)
    issue_type_labels: dict[str, Literal["feature", "bug", "task", "epic", "incident"]] = {
        "bug": "bug",
        "type::bug": "bug",
        "incident": "incident",
        "feature": "feature",
        "type::feature": "feature",
        "epic": "epic",
        "task": "task",
    }
    merge_requests: bool = True
    issues: bool = True
    releases: bool = True
    deployments: bool = True
    # Iterations need GitLab Premium; on other tiers the connector warns once and goes on.
    iterations: bool = True
    # Teams on the Free tier often plan with milestones: read them as sprints (an issue's sprint
    # is then its iteration, else its milestone).
    milestones_as_sprints: bool = False
    # Where the token travels: PRIVATE-TOKEN (personal, group and project access tokens) or
    # Authorization: Bearer (OAuth 2 tokens).
    auth_header: Literal["private_token", "bearer"] = "private_token"
    # Open issues carrying one of these labels count as in progress (GitLab's REST API has only
    # opened and closed); compared case-insensitively.
    in_progress_labels: list[str] = [
        "workflow::in dev",
        "workflow::in progress",
        "workflow::in review",
        "in progress",
        "doing",
    ]
    # Every N days a run lists the ids of all merge requests, issues and deployments and marks the
    # stored ones that are gone as deleted; 0: every run.
    reconcile_days: int = Field(default=1, ge=0, le=90)

    @field_validator("repos", mode="before")
    @classmethod
    def _repos(cls, value: object) -> object:
        return _forge_repos(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _auth(self) -> "GitLabSettings":
        if self.token_env is None and self.replay_dir is None:
            raise ValueError("give token_env: the variable holding a GitLab access token")
        return self

    def default_name(self) -> str:
        return "gitlab"

    @property
    def api_url(self) -> str:
        return self.base_url or "https://gitlab.com"

    @property
    def rest_url(self) -> str:
        """The REST v4 root; a base_url given with its /api/v4 suffix is accepted as well."""
        return f"{self.api_url.removesuffix('/api/v4')}/api/v4"


# Jira's own "not done, but closed" resolutions and the status names team-managed projects use
# for the same thing (they often set no resolution).
CANCELED_RESOLUTIONS = (
    "Won't Do",
    "Won't Fix",
    "Duplicate",
    "Cannot Reproduce",
    "Incomplete",
    "Declined",
    "Rejected",
    "Obsolete",
    "Abandoned",
    "Canceled",
    "Cancelled",
)
CANCELED_STATUSES = ("Canceled", "Cancelled", "Won't Do", "Rejected", "Declined", "Abandoned")


class JiraFields(_Model):
    """Custom field ids; found from /field by name when not given."""

    story_points: str | None = None  # e.g. customfield_10016
    sprint: str | None = None  # e.g. customfield_10020
    epic_link: str | None = None  # company-managed projects before parent/child epics


class JiraSettings(ApiSourceSettings):
    """Jira Cloud (REST v3) or Data Center (REST v2) with the Agile API for boards and sprints."""

    type: Literal["jira"]
    base_url: str | None = None  # required: https://<site>.atlassian.net or the Data Center URL
    deployment: Literal["auto", "cloud", "datacenter"] = "auto"
    email_env: str | None = Field(default=None, pattern=ENV_NAME)  # Jira Cloud: the account's email
    projects: list[str] = []
    boards: list[int] = []
    jql: str | None = None  # extra filter, ANDed with the project scope
    fields: JiraFields = JiraFields()
    story_point_field_names: list[str] = [
        "Story Points",
        "Story point estimate",
        "Story points",
    ]
    incident_types: list[str] = ["Incident"]
    # A resolution or status with one of these names makes an issue canceled rather than done.
    canceled_resolutions: list[str] = list(CANCELED_RESOLUTIONS)
    canceled_statuses: list[str] = list(CANCELED_STATUSES)
    # Check that every stored issue still exists (and notice moves) every N days.
    reconcile_days: int = Field(default=1, ge=0, le=90)

    @model_validator(mode="after")
    def _scope(self) -> "JiraSettings":
        if not self.base_url and self.replay_dir is None:
            raise ValueError(
                "base_url is required for Jira (https://<site>.atlassian.net or your Data Center URL)"
            )
        if not self.projects and not self.boards:
            raise ValueError("give projects (keys) and/or boards (ids) to read")
        if self.token_env is None and self.replay_dir is None:
            raise ValueError(
                "give token_env: the variable holding an API token or personal access token"
            )
        if self.is_cloud and self.email_env is None and self.replay_dir is None:
            raise ValueError(
                "Jira Cloud needs email_env: the variable holding the email of the token's account"
            )
        return self

    @property
    def is_cloud(self) -> bool:
        if self.deployment != "auto":
            return self.deployment == "cloud"
        return (self.base_url or "").rstrip("/").endswith((".atlassian.net", ".jira.com"))

    def default_name(self) -> str:
        return "jira"


class LinearSettings(ApiSourceSettings):
    """Linear (GraphQL): issues, estimates, states, labels, cycles and teams."""

    type: Literal["linear"]
    teams: list[str] = []  # team keys (e.g. ENG); empty: every team the key can see
    # Linear has no issue types: labels set a ticket's type category (case-insensitive; a label in
    # a group also matches as "group/name"). Checked in this order; no match: task.
    issue_type_labels: dict[str, Literal["feature", "bug", "task", "epic", "incident"]] = {
        "incident": "incident",
        "bug": "bug",
        "feature": "feature",
        "improvement": "feature",
        "epic": "epic",
        "task": "task",
        "chore": "task",
    }
    # Every N days a run lists the ids of all issues of each team and marks stored issues that are
    # gone (deleted for good, or moved to a team outside the scope) `is_deleted`; 0: every run.
    reconcile_days: int = Field(default=1, ge=0, le=90)

    @field_validator("teams")
    @classmethod
    def _team_keys(cls, value: list[str]) -> list[str]:
        for key in value:
            if not key or not key.replace("_", "").isalnum():
                raise ValueError(f"{key!r} is not a Linear team key (letters and digits, e.g. ENG)")
        return value

    @field_validator("issue_type_labels")
    @classmethod
    def _lower_labels(cls, value: dict[str, str]) -> dict[str, str]:
        return {label.strip().lower(): category for label, category in value.items()}

    @model_validator(mode="after")
    def _auth(self) -> "LinearSettings":
        if self.token_env is None and self.replay_dir is None:
            raise ValueError("give token_env: the variable holding a Linear API key")
        return self

    def default_name(self) -> str:
        return "linear"

    @property
    def api_url(self) -> str:
        return self.base_url or "https://api.linear.app"


class CopilotSettings(ApiSourceSettings):
    """GitHub Copilot usage metrics, kept day by day (the API serves a recent window only)."""

    type: Literal["copilot"]
    org: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")
    teams: list[str] = []  # team slugs for team-level records
    api: Literal["usage_metrics", "legacy_metrics"] = "usage_metrics"
    # Each run asks again for this many days up to the last day it asked for: GitHub finishes a
    # day's report a day or two late, and late figures replace the first ones.
    overlap_days: int = Field(default=3, ge=1, le=27)

    @field_validator("teams")
    @classmethod
    def _team_slugs(cls, value: list[str]) -> list[str]:
        for slug in value:
            if not slug or slug != slug.strip() or "/" in slug:
                raise ValueError(f"{slug!r} is not a team slug (e.g. platform-team)")
        return value

    @model_validator(mode="after")
    def _auth(self) -> "CopilotSettings":
        if self.token_env is None and self.replay_dir is None:
            raise ValueError(
                "give token_env: the variable holding a token with Copilot metrics access"
            )
        return self

    def default_name(self) -> str:
        return "copilot"

    @property
    def api_url(self) -> str:
        return self.base_url or "https://api.github.com"


class JiraCsvSettings(_Model):
    """A Jira CSV export (Issues → Export → CSV, all fields) for air-gapped installations."""

    type: Literal["jira_csv"]
    name: str | None = Field(default=None, pattern=SOURCE_NAME)
    path: str
    story_points_column: str | None = None  # default: found by the usual names
    date_format: str | None = None  # strptime format; default: Jira's export formats are tried
    # The export's dates are wall-clock times in the exporting user's time zone: an IANA name
    # (Europe/Paris) or a fixed offset (+01:00).
    time_zone: str = "UTC"
    incident_types: list[str] = ["Incident"]
    canceled_resolutions: list[str] = list(CANCELED_RESOLUTIONS)
    canceled_statuses: list[str] = list(CANCELED_STATUSES)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from ingestion.jira_csv import parse_zone

        parse_zone(value)  # raises ValueError with what is expected
        return value

    @property
    def source_name(self) -> str:
        return self.name or "jira_csv"


API_SETTINGS: tuple[type[ApiSourceSettings], ...] = (
    GitHubSettings,
    GitLabSettings,
    JiraSettings,
    LinearSettings,
    CopilotSettings,
)
