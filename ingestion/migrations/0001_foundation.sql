-- Foundation: git repositories, commits with per-file line counts, trailers, AI evidence, runs.
-- All timestamps are TIMESTAMPTZ and the warehouse connection runs with TimeZone=UTC.

CREATE TABLE repos (
    repo                VARCHAR PRIMARY KEY,   -- short name, unique in the warehouse
    source              VARCHAR NOT NULL,      -- path or URL as configured (credentials stripped)
    local_path          VARCHAR NOT NULL,      -- the repository read (the mirror for URLs)
    is_bare             BOOLEAN NOT NULL,
    is_shallow          BOOLEAN NOT NULL,
    default_branch      VARCHAR,               -- full ref name, NULL for an empty repository
    default_branch_sha  VARCHAR,
    excludes_hash       VARCHAR NOT NULL,      -- hash of the exclusion globs the stored rows used
    ruleset_version     VARCHAR NOT NULL,      -- attribution rule set the stored commits used
    first_ingested_at   TIMESTAMPTZ NOT NULL,
    last_changed_at     TIMESTAMPTZ NOT NULL   -- last run that found new commits or moved refs;
                                               -- a no-op run changes nothing here (see ingest_runs)
);

CREATE TABLE repo_refs (
    repo    VARCHAR NOT NULL,
    ref     VARCHAR NOT NULL,                  -- refs/heads/..., refs/tags/..., refs/notes/ai
    sha     VARCHAR NOT NULL,                  -- peeled to the commit (the notes commit for notes)
    PRIMARY KEY (repo, ref)
);

CREATE TABLE commits (
    repo                        VARCHAR NOT NULL,
    sha                         VARCHAR NOT NULL,
    parent_count                SMALLINT NOT NULL,
    first_parent_sha            VARCHAR,
    is_merge                    BOOLEAN NOT NULL,
    on_default_branch           BOOLEAN NOT NULL,  -- on the first-parent chain of the default branch tip
    in_default_history          BOOLEAN NOT NULL,  -- reachable from the default branch tip by any parent
    is_reachable                BOOLEAN NOT NULL,  -- reachable from any ingested ref; false after a rewrite
    author_name                 VARCHAR NOT NULL,
    author_email                VARCHAR NOT NULL,
    author_canonical_name       VARCHAR NOT NULL,
    author_canonical_email      VARCHAR NOT NULL,
    authored_at                 TIMESTAMPTZ NOT NULL,
    author_tz_offset_min        SMALLINT NOT NULL,
    committer_name              VARCHAR NOT NULL,
    committer_email             VARCHAR NOT NULL,
    committer_canonical_name    VARCHAR NOT NULL,
    committer_canonical_email   VARCHAR NOT NULL,
    committed_at                TIMESTAMPTZ NOT NULL,
    committer_tz_offset_min     SMALLINT NOT NULL,
    subject                     VARCHAR NOT NULL,
    trailer_count               SMALLINT NOT NULL,
    pr_number                   INTEGER,           -- from "(#123)" or "Merge pull request #123"
    source_branch               VARCHAR,           -- branch named by a merge subject
    is_revert                   BOOLEAN NOT NULL,
    reverted_sha                VARCHAR,           -- from "This reverts commit <sha>."
    additions                   INTEGER,           -- all added lines (NULL when stats are incomplete)
    deletions                   INTEGER,
    files_changed               INTEGER,
    binary_files                INTEGER,
    excluded_additions          INTEGER,           -- part of additions in excluded paths
    excluded_deletions          INTEGER,
    stats_complete              BOOLEAN NOT NULL,
    ai_tool                     VARCHAR,
    ai_mode                     VARCHAR CHECK (ai_mode IN ('agent', 'assisted', 'review', 'bot')),
    ai_confidence               DOUBLE,
    run_id                      VARCHAR NOT NULL,
    PRIMARY KEY (repo, sha)
);

CREATE TABLE commit_files (
    repo        VARCHAR NOT NULL,
    sha         VARCHAR NOT NULL,
    path        VARCHAR NOT NULL,              -- new path (old path for deletions); keyed hash if enabled
    change      VARCHAR NOT NULL CHECK (change IN ('A', 'D', 'M', 'T')),
    added       INTEGER,                       -- NULL for binary files and missing blobs
    deleted     INTEGER,
    is_binary   BOOLEAN NOT NULL,
    is_excluded BOOLEAN NOT NULL
);

CREATE TABLE commit_trailers (
    repo        VARCHAR NOT NULL,
    sha         VARCHAR NOT NULL,
    position    SMALLINT NOT NULL,             -- order in the trailer block, from 0
    key         VARCHAR NOT NULL,              -- lower-cased, e.g. co-authored-by
    value       VARCHAR NOT NULL
);

CREATE TABLE commit_ai_notes (
    repo            VARCHAR NOT NULL,
    sha             VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL CHECK (kind IN ('ai', 'human')),
    tool            VARCHAR,                   -- for kind = 'ai'
    model           VARCHAR,
    lines           INTEGER NOT NULL,          -- attested lines at that commit
    files           INTEGER NOT NULL,
    schema_version  VARCHAR NOT NULL           -- e.g. authorship/3.0.0
);

CREATE TABLE ai_evidence (
    subject_kind    VARCHAR NOT NULL CHECK (subject_kind IN ('commit', 'pr')),
    repo            VARCHAR NOT NULL,
    subject_id      VARCHAR NOT NULL,          -- commit sha, or PR number
    rule_id         VARCHAR NOT NULL,
    field           VARCHAR NOT NULL,
    matched         VARCHAR NOT NULL,          -- the matched marker, at most 200 characters
    tool            VARCHAR NOT NULL,
    mode            VARCHAR NOT NULL,
    confidence      DOUBLE NOT NULL,
    ruleset_version VARCHAR NOT NULL,
    run_id          VARCHAR NOT NULL
);

CREATE TABLE ingest_runs (
    run_id              VARCHAR PRIMARY KEY,
    kind                VARCHAR NOT NULL,      -- git, attribution, ...
    scope               VARCHAR NOT NULL,      -- repository name or other scope
    started_at          TIMESTAMPTZ NOT NULL,
    finished_at         TIMESTAMPTZ,
    status              VARCHAR NOT NULL CHECK (status IN ('running', 'ok', 'noop', 'failed')),
    commits_added       INTEGER NOT NULL DEFAULT 0,
    files_added         INTEGER NOT NULL DEFAULT 0,
    commits_updated     INTEGER NOT NULL DEFAULT 0,  -- reachability or attribution changed
    commits_incomplete  INTEGER NOT NULL DEFAULT 0,
    warnings            VARCHAR[] NOT NULL DEFAULT [],
    error               VARCHAR,
    ruleset_version     VARCHAR,
    sprintproof_version VARCHAR NOT NULL
);
