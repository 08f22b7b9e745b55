-- Line survival of commits on the default branch (ingestion/durability.py): how many of the lines a
-- commit introduced are still on the default branch churn_days and durability_days after it landed.
-- Counts only; no path or content.

CREATE TABLE commit_durability (
    repo                    VARCHAR NOT NULL,
    sha                     VARCHAR NOT NULL,
    landed_sha              VARCHAR NOT NULL,      -- default-branch (first-parent) commit that brought it in
    landed_at               TIMESTAMPTZ NOT NULL,  -- that commit's committed_at: the windows start here
    lines_added             INTEGER NOT NULL,      -- lines it introduced (moves, copies, excluded paths out)
    alive_churn             INTEGER NOT NULL,      -- of those, on the default branch at churn_at
    alive_durable           INTEGER NOT NULL,      -- of those, on the default branch at durable_at
    note_ai_lines           INTEGER NOT NULL,      -- part of lines_added its git-ai note attests as AI
    note_ai_alive_churn     INTEGER NOT NULL,
    note_ai_alive_durable   INTEGER NOT NULL,
    note_human_lines        INTEGER NOT NULL,      -- part its git-ai note attests as human
    note_human_alive_churn  INTEGER NOT NULL,
    note_human_alive_durable INTEGER NOT NULL,
    churn_days              SMALLINT NOT NULL,
    durability_days         SMALLINT NOT NULL,
    churn_at                TIMESTAMPTZ NOT NULL,  -- landed_at + churn_days
    churn_sha               VARCHAR NOT NULL,      -- the default-branch commit whose lines were counted then
    durable_at              TIMESTAMPTZ NOT NULL,  -- landed_at + durability_days
    durable_sha             VARCHAR NOT NULL,
    method                  VARCHAR NOT NULL,      -- line-tracking rules, e.g. lines.v1
    excludes_hash           VARCHAR NOT NULL,      -- exclusion patterns in force
    measured_at             TIMESTAMPTZ NOT NULL,
    run_id                  VARCHAR NOT NULL,
    PRIMARY KEY (repo, sha)
);
