"""Links across sources, rebuilt after every ingest (commits to PRs, PRs and commits to tickets, PR attribution inherited by merge commits), and PR re-attribution.

Connectors store what each API states (a PR's merge commit, its commits, closing references);
this step joins those facts with the git history and the tickets, all in one transaction, so it
can run after any source in any order and always ends in the same state.
"""

import contextlib
import re
import uuid
from dataclasses import dataclass

import duckdb
import polars as pl

from ingestion import __version__
from ingestion.attribution import RuleSet, Signals

INHERIT_RULE = "inherit.pr"
_SCANNED_VIA = ("branch", "title", "commit_subject", "subject")


@dataclass
class LinkResult:
    commit_prs: int = 0
    ticket_links: int = 0
    inherited: int = 0


def ticket_key_pattern(projects: list[str]) -> str | None:
    """A regex matching `KEY-123` for the given project keys only (so `UTF-8` or `ISO-8601` never match)."""
    keys = sorted(
        {p for p in projects if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", p or "")},
        key=len,
        reverse=True,
    )
    if not keys:
        return None
    return r"(?i)\b(?:" + "|".join(map(re.escape, keys)) + r")-[1-9][0-9]*\b"


def _extract(frame: pl.DataFrame, column: str, pattern: str, via: str) -> pl.DataFrame:
    return (
        frame.select(
            "source",
            "repo",
            "subject_id",
            # "_" is a word character to the regex engine; branch names use it as a separator.
            pl.col(column)
            .str.replace_all("_", " ", literal=True)
            .str.extract_all(pattern)
            .alias("hits"),
        )
        .explode("hits")
        .drop_nulls("hits")
        .select(
            "source",
            "repo",
            "subject_id",
            pl.col("hits").str.to_uppercase().alias("ticket_key"),
            pl.lit(via).alias("via"),
        )
    )


def link(con: duckdb.DuckDBPyConnection, *, run_id: str | None = None) -> LinkResult:
    """Rebuild `commit_pull_requests`, the scanned `ticket_links` and inherited commit attribution."""
    run_id = run_id or str(uuid.uuid4())
    result = LinkResult()
    projects = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT project FROM tickets WHERE tracker IN ('jira', 'linear') AND NOT is_deleted"
        ).fetchall()
    ]
    known_keys = con.sql(
        "SELECT DISTINCT upper(key) AS ticket_key FROM tickets WHERE tracker IN ('jira', 'linear') AND NOT is_deleted"
    ).pl()
    pattern = ticket_key_pattern(projects)
    scanned: list[pl.DataFrame] = []
    if pattern is not None:
        prs = con.sql(
            "SELECT source, repo, CAST(number AS VARCHAR) AS subject_id, title, coalesce(head_ref, '') AS head_ref "
            "FROM pull_requests WHERE NOT is_deleted"
        ).pl()
        pr_commit_subjects = con.sql(
            "SELECT source, repo, CAST(pr_number AS VARCHAR) AS subject_id, subject FROM pr_commits"
        ).pl()
        commits = con.sql(
            "SELECT NULL::VARCHAR AS source, repo, sha AS subject_id, subject FROM commits "
            "WHERE in_default_history AND NOT is_merge"
        ).pl()
        pr_links = pl.concat(
            [
                _extract(prs, "head_ref", pattern, "branch"),
                _extract(prs, "title", pattern, "title"),
                _extract(pr_commit_subjects, "subject", pattern, "commit_subject"),
            ]
        ).with_columns(pl.lit("pr").alias("subject_kind"))
        commit_links = _extract(commits, "subject", pattern, "subject").with_columns(
            pl.lit("commit").alias("subject_kind")
        )
        scanned = [pr_links, commit_links]
    links = (
        pl.concat(scanned)
        .join(known_keys, on="ticket_key", how="semi")
        .unique(maintain_order=True)
        .select("source", "subject_kind", "repo", "subject_id", "ticket_key", "via")
        if scanned
        else pl.DataFrame(
            schema={
                "source": pl.String,
                "subject_kind": pl.String,
                "repo": pl.String,
                "subject_id": pl.String,
                "ticket_key": pl.String,
                "via": pl.String,
            }
        )
    )
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO ingest_runs (run_id, kind, scope, started_at, status, sprintproof_version) "
            "VALUES (?, 'linking', 'all', now(), 'running', ?)",
            [run_id, __version__],
        )
        con.execute(
            "DELETE FROM ticket_links WHERE via IN (SELECT unnest(?))", [list(_SCANNED_VIA)]
        )
        con.register("_links", links.to_arrow())
        con.execute("INSERT INTO ticket_links BY NAME SELECT * FROM _links")
        con.unregister("_links")
        result.ticket_links = links.height

        con.execute("DELETE FROM commit_pull_requests")
        con.execute(
            """
            INSERT INTO commit_pull_requests (git_repo, sha, source, repo, pr_number, via)
            SELECT DISTINCT f.git_repo, c.sha, p.source, p.repo, p.number, 'merge_commit'
            FROM pull_requests p
            JOIN forge_repos f ON f.source = p.source AND f.repo = p.repo
            JOIN commits c ON c.repo = f.git_repo AND c.sha = p.merge_commit_sha
            WHERE p.state = 'merged' AND NOT p.is_deleted
            UNION
            SELECT DISTINCT f.git_repo, c.sha, pc.source, pc.repo, pc.pr_number, 'pr_commit'
            FROM pr_commits pc
            JOIN pull_requests p ON p.source = pc.source AND p.repo = pc.repo AND p.number = pc.pr_number
            JOIN forge_repos f ON f.source = pc.source AND f.repo = pc.repo
            JOIN commits c ON c.repo = f.git_repo AND c.sha = pc.sha
            WHERE NOT p.is_deleted
            """
        )
        result.commit_prs = int(
            con.execute("SELECT count(*) FROM commit_pull_requests").fetchall()[0][0]
        )

        # Inheritance is rebuilt from the commits' own attribution every time.
        con.execute(
            f"DELETE FROM ai_evidence WHERE subject_kind = 'commit' AND rule_id = '{INHERIT_RULE}'"
        )
        con.execute(
            "UPDATE commits SET ai_tool = own_ai_tool, ai_mode = own_ai_mode, "
            "ai_confidence = own_ai_confidence, ai_via_pr = NULL WHERE ai_via_pr IS NOT NULL"
        )
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _inherit AS
            SELECT c.repo, c.sha, p.repo || '#' || p.number AS via_pr, p.ai_tool, p.ai_mode, p.ai_confidence,
                   r.ruleset_version
            FROM commit_pull_requests l
            JOIN pull_requests p ON p.source = l.source AND p.repo = l.repo AND p.number = l.pr_number
            JOIN commits c ON c.repo = l.git_repo AND c.sha = l.sha
            JOIN repos r ON r.repo = c.repo
            WHERE l.via = 'merge_commit' AND p.ai_mode IS NOT NULL
              AND (c.own_ai_mode IS NULL OR p.ai_confidence > c.own_ai_confidence)
            QUALIFY row_number() OVER (PARTITION BY c.repo, c.sha ORDER BY p.ai_confidence DESC, p.number) = 1
            """
        )
        con.execute(
            "UPDATE commits SET ai_tool = i.ai_tool, ai_mode = i.ai_mode, ai_confidence = i.ai_confidence, "
            "ai_via_pr = i.via_pr FROM _inherit i WHERE commits.repo = i.repo AND commits.sha = i.sha"
        )
        con.execute(
            f"""
            INSERT INTO ai_evidence (subject_kind, repo, subject_id, rule_id, field, matched, tool, mode,
                                     confidence, ruleset_version, run_id)
            SELECT 'commit', repo, sha, '{INHERIT_RULE}', 'pr', via_pr, ai_tool, ai_mode, ai_confidence,
                   ruleset_version, ?
            FROM _inherit
            """,
            [run_id],
        )
        result.inherited = int(con.execute("SELECT count(*) FROM _inherit").fetchall()[0][0])
        con.execute("DROP TABLE _inherit")
        con.execute(
            "UPDATE ingest_runs SET finished_at = now(), status = 'ok', rows_written = ? WHERE run_id = ?",
            [result.ticket_links + result.commit_prs + result.inherited, run_id],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def reattribute_prs(
    con: duckdb.DuckDBPyConnection, ruleset: RuleSet, *, run_id: str | None = None
) -> int:
    """Re-apply the rule set to every stored PR and PR commit; returns how many PRs changed.

    Bodies are never stored, so body markers are re-evaluated from the markers the previous
    decision recorded in `ai_evidence.matched` (the marker text matches its rule again); a marker
    that no earlier rule found cannot be found now without reading the PR again.
    """
    run_id = run_id or str(uuid.uuid4())
    prs = con.sql(
        "SELECT source, repo, number, title, head_ref, author_login, author_type, labels, created_at, "
        "ai_tool, ai_mode, ai_confidence FROM pull_requests"
    ).pl()
    commits = con.sql(
        "SELECT source, repo, pr_number, sha, subject, trailers, author_name, author_email, "
        "committer_name, committer_email, authored_at FROM pr_commits ORDER BY source, repo, pr_number, position"
    ).pl()
    markers = con.sql(
        "SELECT source, repo, subject_id, via_sha, list(DISTINCT matched) AS matched FROM ai_evidence "
        "WHERE subject_kind = 'pr' AND field IN ('body', 'pr_body') GROUP BY ALL"
    ).pl()
    body_of: dict[tuple[str | None, str, str, str | None], str] = {
        (m["source"], m["repo"], m["subject_id"], m["via_sha"]): "\n".join(m["matched"])
        for m in markers.iter_rows(named=True)
    }
    by_pr: dict[tuple[str, str, int], list[dict[str, object]]] = {}
    for row in commits.iter_rows(named=True):
        by_pr.setdefault((row["source"], row["repo"], row["pr_number"]), []).append(row)

    pr_updates: list[dict[str, object]] = []
    commit_updates: list[dict[str, object]] = []
    evidence: list[dict[str, object]] = []
    changed = 0
    for pr in prs.iter_rows(named=True):
        key = (pr["source"], pr["repo"], pr["number"])
        number = str(pr["number"])
        commit_signals: list[tuple[str, Signals]] = []
        for c in by_pr.get(key, []):
            signals = Signals(
                subject=str(c["subject"] or ""),
                body=body_of.get((pr["source"], pr["repo"], number, str(c["sha"])), ""),
                trailers=[(t["key"], t["value"]) for t in c["trailers"] or []],  # type: ignore[union-attr]
                authors=(f"{c['author_name']} <{c['author_email']}>",) if c["author_email"] else (),
                committers=(f"{c['committer_name']} <{c['committer_email']}>",)
                if c["committer_email"]
                else (),
                when=c["authored_at"],  # type: ignore[arg-type]
            )
            own = ruleset.attribute(signals)
            commit_updates.append({"source": pr["source"], "repo": pr["repo"], "pr_number": pr["number"], "sha": c["sha"],
                                   "t": own.tool, "m": own.mode, "c": own.confidence})  # fmt: skip
            commit_signals.append((str(c["sha"]), signals))
        decided = ruleset.attribute_pr(
            Signals(subject=pr["title"] or "", body=body_of.get((pr["source"], pr["repo"], number, None), ""),
                    branch=pr["head_ref"], pr_author=pr["author_login"] or "", pr_author_type=_account_type(pr["author_type"]),
                    labels=list(pr["labels"] or []), when=pr["created_at"]),
            commit_signals,
        )  # fmt: skip
        if (decided.tool, decided.mode, decided.confidence) != (
            pr["ai_tool"],
            pr["ai_mode"],
            pr["ai_confidence"],
        ):
            changed += 1
        pr_updates.append({"source": pr["source"], "repo": pr["repo"], "number": pr["number"],
                           "t": decided.tool, "m": decided.mode, "c": decided.confidence})  # fmt: skip
        for ev, via in zip(decided.evidence, decided.via, strict=True):
            evidence.append({"source": pr["source"], "subject_kind": "pr", "repo": pr["repo"], "subject_id": number, "rule_id": ev.rule_id,
                             "field": ev.field, "matched": ev.matched, "tool": ev.tool, "mode": ev.mode,
                             "confidence": ev.confidence, "ruleset_version": ruleset.version, "run_id": run_id,
                             "via_sha": via})  # fmt: skip
    con.execute("BEGIN TRANSACTION")
    try:
        for name, rows, schema in (
            ("_pr_upd", pr_updates, {"source": pl.String, "repo": pl.String, "number": pl.Int32, "t": pl.String, "m": pl.String, "c": pl.Float64}),
            ("_pc_upd", commit_updates, {"source": pl.String, "repo": pl.String, "pr_number": pl.Int32, "sha": pl.String, "t": pl.String, "m": pl.String, "c": pl.Float64}),
            ("_pr_ev", evidence, {"source": pl.String, "subject_kind": pl.String, "repo": pl.String, "subject_id": pl.String, "rule_id": pl.String,
                                  "field": pl.String, "matched": pl.String, "tool": pl.String, "mode": pl.String,
                                  "confidence": pl.Float64, "ruleset_version": pl.String, "run_id": pl.String, "via_sha": pl.String}),
        ):  # fmt: skip
            con.register(name, pl.DataFrame(rows, schema=schema).to_arrow())
        con.execute(
            "UPDATE pull_requests p SET ai_tool = u.t, ai_mode = u.m, ai_confidence = u.c FROM _pr_upd u "
            "WHERE p.source = u.source AND p.repo = u.repo AND p.number = u.number"
        )
        con.execute(
            "UPDATE pr_commits p SET ai_tool = u.t, ai_mode = u.m, ai_confidence = u.c FROM _pc_upd u "
            "WHERE p.source = u.source AND p.repo = u.repo AND p.pr_number = u.pr_number AND p.sha = u.sha"
        )
        con.execute("DELETE FROM ai_evidence WHERE subject_kind = 'pr'")
        con.execute("INSERT INTO ai_evidence BY NAME SELECT * FROM _pr_ev")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for name in ("_pr_upd", "_pc_upd", "_pr_ev"):
            with contextlib.suppress(duckdb.Error):
                con.unregister(name)
    return changed


def _account_type(stored: str | None) -> str | None:
    """Stored account types are lower-cased; the rules expect the forge's spelling (`Bot`, `User`)."""
    return stored.capitalize() if stored else None
