-- Connectors: forge pull requests, reviews, PR commits, releases, deployments; tracker tickets,
-- their changelog, sprints and boards; Copilot usage; identities; links; per-page sync state.
-- Keys are documented (docs/warehouse.md) and kept by the writers (ingestion/sync.py), which
-- replace whole slices; tables carry no PRIMARY KEY so a slice can be deleted and re-inserted in
-- one transaction.

-- Per-page checkpoints: a killed run resumes from the last committed page.
CREATE TABLE sync_state (
    source      VARCHAR NOT NULL,          -- configured source name
    scope       VARCHAR NOT NULL,          -- repository, project, board, team or organisation
    stream      VARCHAR NOT NULL,          -- pull_requests, issues, sprints, ...
    cursor      VARCHAR NOT NULL,          -- JSON written by the connector (watermark, page token)
    updated_at  TIMESTAMPTZ NOT NULL,
    run_id      VARCHAR NOT NULL,
    PRIMARY KEY (source, scope, stream)
);

-- Forge repositories and the git repository (repos.repo) each one feeds.
CREATE TABLE forge_repos (
    source          VARCHAR NOT NULL,
    forge           VARCHAR NOT NULL CHECK (forge IN ('github', 'gitlab')),
    repo            VARCHAR NOT NULL,      -- owner/name (GitHub) or group/project path (GitLab)
    forge_id        VARCHAR,
    git_repo        VARCHAR,               -- repos.repo of the matching git source, if configured
    default_branch  VARCHAR,
    is_archived     BOOLEAN,
    synced_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE pull_requests (
    source              VARCHAR NOT NULL,
    forge               VARCHAR NOT NULL CHECK (forge IN ('github', 'gitlab')),
    repo                VARCHAR NOT NULL,  -- forge path, as forge_repos.repo
    number              INTEGER NOT NULL,  -- PR number / MR iid
    forge_id            VARCHAR NOT NULL,  -- node id / global id
    title               VARCHAR NOT NULL,
    author_login        VARCHAR,           -- NULL for a deleted account (ghost)
    author_type         VARCHAR,           -- user | bot | mannequin | ... (lower-cased forge type)
    author_id           VARCHAR,
    state               VARCHAR NOT NULL CHECK (state IN ('open', 'closed', 'merged')),
    is_draft            BOOLEAN NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    merged_at           TIMESTAMPTZ,
    closed_at           TIMESTAMPTZ,
    base_ref            VARCHAR,
    head_ref            VARCHAR,
    head_repo           VARCHAR,           -- NULL when the fork is gone
    is_cross_repository BOOLEAN,
    additions           INTEGER,
    deletions           INTEGER,
    changed_files       INTEGER,
    commit_count        INTEGER,
    labels              VARCHAR[] NOT NULL,
    merge_commit_sha    VARCHAR,           -- squash, merge or rebase result on the base branch
    sprint_id           VARCHAR,           -- milestone (GitHub) or iteration (GitLab), as sprints.sprint_id
    merged_by_login     VARCHAR,
    body_length         INTEGER NOT NULL,  -- characters; the body itself is never stored
    first_commit_at     TIMESTAMPTZ,       -- earliest authored time of its commits
    ai_tool             VARCHAR,
    ai_mode             VARCHAR CHECK (ai_mode IN ('agent', 'assisted', 'review', 'bot')),
    ai_confidence       DOUBLE,
    is_deleted          BOOLEAN NOT NULL DEFAULT false,
    synced_at           TIMESTAMPTZ NOT NULL,
    run_id              VARCHAR NOT NULL
);

CREATE TABLE pr_reviews (
    source          VARCHAR NOT NULL,
    repo            VARCHAR NOT NULL,
    pr_number       INTEGER NOT NULL,
    review_id       VARCHAR NOT NULL,
    reviewer_login  VARCHAR,
    reviewer_type   VARCHAR,               -- user | bot | ...
    state           VARCHAR NOT NULL CHECK (state IN ('approved', 'changes_requested', 'commented', 'dismissed', 'pending')),
    submitted_at    TIMESTAMPTZ,
    ai_tool         VARCHAR,               -- review bots and automation accounts
    ai_mode         VARCHAR CHECK (ai_mode IN ('agent', 'assisted', 'review', 'bot')),
    is_human        BOOLEAN NOT NULL       -- false for review bots, dependency bots and agents
);

CREATE TABLE pr_commits (
    source              VARCHAR NOT NULL,
    repo                VARCHAR NOT NULL,
    pr_number           INTEGER NOT NULL,
    sha                 VARCHAR NOT NULL,
    position            INTEGER NOT NULL,  -- order in the PR, from 0
    author_name         VARCHAR,
    author_email        VARCHAR,
    author_login        VARCHAR,
    committer_name      VARCHAR,
    committer_email     VARCHAR,
    committer_login     VARCHAR,
    authored_at         TIMESTAMPTZ,
    committed_at        TIMESTAMPTZ,
    subject             VARCHAR NOT NULL,
    trailers            STRUCT("key" VARCHAR, "value" VARCHAR)[] NOT NULL,
    additions           INTEGER,
    deletions           INTEGER,
    ai_tool             VARCHAR,
    ai_mode             VARCHAR CHECK (ai_mode IN ('agent', 'assisted', 'review', 'bot')),
    ai_confidence       DOUBLE
);

CREATE TABLE releases (
    source          VARCHAR NOT NULL,
    repo            VARCHAR NOT NULL,
    release_id      VARCHAR NOT NULL,
    tag_name        VARCHAR NOT NULL,
    name            VARCHAR,
    target_sha      VARCHAR,
    author_login    VARCHAR,
    is_draft        BOOLEAN NOT NULL,
    is_prerelease   BOOLEAN NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    published_at    TIMESTAMPTZ,
    is_deleted      BOOLEAN NOT NULL DEFAULT false,
    synced_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE deployments (
    source          VARCHAR NOT NULL,
    repo            VARCHAR NOT NULL,
    deployment_id   VARCHAR NOT NULL,
    sha             VARCHAR,
    ref             VARCHAR,
    environment     VARCHAR NOT NULL,
    task            VARCHAR,
    creator_login   VARCHAR,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ,
    latest_state    VARCHAR,               -- as deployment_statuses.state
    latest_state_at TIMESTAMPTZ,
    is_deleted      BOOLEAN NOT NULL DEFAULT false,
    synced_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE deployment_statuses (
    source          VARCHAR NOT NULL,
    repo            VARCHAR NOT NULL,
    deployment_id   VARCHAR NOT NULL,
    status_id       VARCHAR NOT NULL,
    state           VARCHAR NOT NULL CHECK (state IN ('success', 'failure', 'error', 'inactive', 'in_progress', 'queued', 'pending', 'canceled')),
    created_at      TIMESTAMPTZ NOT NULL
);

-- Tickets from every tracker (Jira, Linear, GitHub issues, GitLab issues). Key: (source, ticket_id);
-- the key (e.g. WEB-541) can change when an issue moves project, the id does not.
CREATE TABLE tickets (
    source          VARCHAR NOT NULL,
    tracker         VARCHAR NOT NULL CHECK (tracker IN ('jira', 'linear', 'github', 'gitlab')),
    ticket_id       VARCHAR NOT NULL,
    key             VARCHAR NOT NULL,      -- WEB-541, ENG-12, owner/repo#12, group/project#12
    project         VARCHAR NOT NULL,      -- Jira project key, Linear team key, forge repository
    title           VARCHAR NOT NULL,
    type            VARCHAR,               -- as the tracker names it (Story, Bug, ...)
    type_category   VARCHAR NOT NULL CHECK (type_category IN ('feature', 'bug', 'task', 'subtask', 'epic', 'incident', 'other')),
    status          VARCHAR,
    status_id       VARCHAR,               -- as ticket_statuses.status_id (names repeat across workflows)
    status_category VARCHAR NOT NULL CHECK (status_category IN ('todo', 'in_progress', 'done', 'canceled')),
    resolution      VARCHAR,
    priority        VARCHAR,
    story_points    DOUBLE,                -- Jira story points, Linear estimate
    assignee_id     VARCHAR,
    reporter_id     VARCHAR,
    labels          VARCHAR[] NOT NULL,
    parent_key      VARCHAR,
    epic_key        VARCHAR,
    sprint_id       VARCHAR,               -- current (or last) sprint, as sprints.sprint_id
    milestone       VARCHAR,               -- forge milestone title, when milestones are not sprints
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    resolved_at     TIMESTAMPTZ,
    body_length     INTEGER NOT NULL,      -- characters of the description; never stored
    is_deleted      BOOLEAN NOT NULL DEFAULT false,
    synced_at       TIMESTAMPTZ NOT NULL,
    run_id          VARCHAR NOT NULL
);

-- Every sprint a ticket is or was in, as the tracker's sprint field lists them.
CREATE TABLE ticket_sprints (
    source      VARCHAR NOT NULL,
    ticket_id   VARCHAR NOT NULL,
    sprint_id   VARCHAR NOT NULL
);

-- The changelog: one row per changed field (status, sprint, story_points, assignee, type, ...).
CREATE TABLE ticket_events (
    source      VARCHAR NOT NULL,
    ticket_id   VARCHAR NOT NULL,
    event_id    VARCHAR NOT NULL,          -- tracker's history id
    position    SMALLINT NOT NULL,         -- item within the history entry
    changed_at  TIMESTAMPTZ NOT NULL,
    actor_id    VARCHAR,
    field       VARCHAR NOT NULL,          -- normalised: status, sprint, story_points, assignee, type, resolution, project, parent, labels
    from_id     VARCHAR,                   -- ids (status id, comma-separated sprint ids, account id)
    to_id       VARCHAR,
    from_value  VARCHAR,                   -- display values (status name, points)
    to_value    VARCHAR
);

CREATE TABLE ticket_statuses (
    source      VARCHAR NOT NULL,
    status_id   VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,
    category    VARCHAR NOT NULL CHECK (category IN ('todo', 'in_progress', 'done', 'canceled'))
);

CREATE TABLE sprints (
    source          VARCHAR NOT NULL,
    tracker         VARCHAR NOT NULL CHECK (tracker IN ('jira', 'linear', 'github', 'gitlab')),
    sprint_id       VARCHAR NOT NULL,      -- unique within the source
    board_id        VARCHAR,               -- Jira board, Linear team id, repository, group
    name            VARCHAR NOT NULL,
    state           VARCHAR NOT NULL CHECK (state IN ('future', 'active', 'closed')),
    start_at        TIMESTAMPTZ,
    end_at          TIMESTAMPTZ,
    completed_at    TIMESTAMPTZ,
    is_deleted      BOOLEAN NOT NULL DEFAULT false,
    synced_at       TIMESTAMPTZ NOT NULL
);

-- Jira boards, Linear teams, GitLab groups: where sprints belong.
CREATE TABLE boards (
    source      VARCHAR NOT NULL,
    board_id    VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,          -- scrum | kanban | simple | linear_team | gitlab_group | github_repo
    name        VARCHAR NOT NULL,
    project     VARCHAR,                   -- Jira project key, Linear team key
    synced_at   TIMESTAMPTZ NOT NULL
);

-- PR <-> ticket and commit <-> ticket links; commit <-> PR links.
CREATE TABLE ticket_links (
    source          VARCHAR,               -- the PR's source; NULL for commits
    subject_kind    VARCHAR NOT NULL CHECK (subject_kind IN ('pr', 'commit')),
    repo            VARCHAR NOT NULL,      -- forge path for PRs, repos.repo for commits
    subject_id      VARCHAR NOT NULL,      -- PR number or commit sha
    ticket_key      VARCHAR NOT NULL,
    via             VARCHAR NOT NULL       -- closing_ref | branch | title | commit_subject | subject
);

CREATE TABLE commit_pull_requests (
    git_repo    VARCHAR NOT NULL,          -- repos.repo
    sha         VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    repo        VARCHAR NOT NULL,          -- forge path
    pr_number   INTEGER NOT NULL,
    via         VARCHAR NOT NULL CHECK (via IN ('merge_commit', 'pr_commit'))
);

-- Accounts the sources have seen (for identity resolution).
CREATE TABLE identities (
    source          VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,      -- github | gitlab | jira | linear
    account_id      VARCHAR NOT NULL,      -- login for forges, accountId for Jira, user id for Linear
    login           VARCHAR,
    name            VARCHAR,
    email           VARCHAR,
    account_type    VARCHAR,               -- user | bot | app | ...
    last_seen_at    TIMESTAMPTZ NOT NULL
);

-- GitHub Copilot usage, one row per day and scope (organisation or team).
CREATE TABLE copilot_usage (
    source                      VARCHAR NOT NULL,
    org                         VARCHAR NOT NULL,
    team                        VARCHAR NOT NULL,  -- '' for the whole organisation
    day                         DATE NOT NULL,
    api                         VARCHAR NOT NULL,  -- usage_metrics | legacy_metrics
    active_users                INTEGER,
    engaged_users               INTEGER,
    loc_suggested_to_add        BIGINT,
    loc_suggested_to_delete     BIGINT,
    loc_added                   BIGINT,
    loc_deleted                 BIGINT,
    agent_edit_lines            BIGINT,
    code_generation_count       BIGINT,
    code_acceptance_count       BIGINT,
    interaction_count           BIGINT,
    prs_created                 INTEGER,
    prs_merged                  INTEGER,
    prs_created_by_copilot      INTEGER,
    prs_merged_created_by_copilot INTEGER,
    prs_reviewed_by_copilot     INTEGER,
    pr_summaries_created        INTEGER,           -- legacy API: PR summaries Copilot wrote
    synced_at                   TIMESTAMPTZ NOT NULL
);

-- What each stream's records looked like against what the connector knows (schema drift).
CREATE TABLE source_fields (
    source      VARCHAR NOT NULL,
    stream      VARCHAR NOT NULL,
    field       VARCHAR NOT NULL,          -- top-level field name of a record
    status      VARCHAR NOT NULL CHECK (status IN ('known', 'unknown', 'missing')),
    last_seen_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, stream, field)
);

ALTER TABLE ai_evidence ADD COLUMN via_sha VARCHAR;     -- for PR evidence: the PR commit that carried it
ALTER TABLE ai_evidence ADD COLUMN source VARCHAR;      -- for PR evidence: the source of the PR (NULL for commits)
-- A commit's own attribution (its own signals) next to the effective one in ai_tool/ai_mode/
-- ai_confidence, which a squash or merge commit inherits from its PR when the PR's is stronger.
ALTER TABLE commits ADD COLUMN own_ai_tool VARCHAR;
ALTER TABLE commits ADD COLUMN own_ai_mode VARCHAR;
ALTER TABLE commits ADD COLUMN own_ai_confidence DOUBLE;
ALTER TABLE commits ADD COLUMN ai_via_pr VARCHAR;       -- 'owner/name#123' when inherited from a PR
UPDATE commits SET own_ai_tool = ai_tool, own_ai_mode = ai_mode, own_ai_confidence = ai_confidence;
ALTER TABLE ingest_runs ADD COLUMN rows_written INTEGER DEFAULT 0;
ALTER TABLE ingest_runs ADD COLUMN requests INTEGER DEFAULT 0;
