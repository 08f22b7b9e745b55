"""Tests for the DuckDB warehouse: connections, versioned migrations and the schema_version table."""

import re
from pathlib import Path

import duckdb
import pytest

from ingestion import warehouse as wh
from ingestion.warehouse import (
    Migration,
    WarehouseError,
    connect,
    latest_version,
    migrate,
    migrations,
    require_current,
    schema_version,
)

FOUNDATION = Path(wh.__file__).resolve().parent / "migrations" / "0001_foundation.sql"


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()
    return {r[0] for r in rows}


def created_by(sql: str) -> set[str]:
    return set(
        re.findall(
            r"^\s*CREATE TABLE\s+(?:IF NOT EXISTS\s+)?(\w+)", sql, re.IGNORECASE | re.MULTILINE
        )
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "wh" / "warehouse.duckdb"


def test_shipped_migrations_are_numbered_from_one_without_gaps() -> None:
    found = migrations()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].name == "foundation"
    assert found[0].sql == FOUNDATION.read_text(encoding="utf-8")
    assert latest_version() == found[-1].version


def test_migrate_on_an_empty_file_creates_every_table(path: Path) -> None:
    expected = created_by(FOUNDATION.read_text(encoding="utf-8"))
    assert {"repos", "commits", "commit_files", "commit_trailers", "ingest_runs"} <= expected

    with connect(path) as con:
        assert schema_version(con) == 0
        assert migrate(con) == [m.version for m in migrations()]
        assert expected <= tables(con)
        rows = con.execute(
            "SELECT version, name, checksum FROM schema_version ORDER BY version"
        ).fetchall()
        assert rows[0] == (1, "foundation", migrations()[0].checksum)
        assert schema_version(con) == latest_version()
        require_current(con, path)


def test_migrate_again_applies_nothing(path: Path) -> None:
    with connect(path) as con:
        migrate(con)
    with connect(path) as con:
        before = con.execute(
            "SELECT version, checksum, applied_at FROM schema_version ORDER BY version"
        ).fetchall()
        assert migrate(con) == []
        after = con.execute(
            "SELECT version, checksum, applied_at FROM schema_version ORDER BY version"
        ).fetchall()
    assert after == before


def test_migrate_keeps_existing_rows(path: Path) -> None:
    with connect(path) as con:
        migrate(con)
        con.execute("INSERT INTO repo_refs VALUES ('alpha', 'refs/heads/main', 'abc')")
    with connect(path) as con:
        migrate(con)
        assert con.execute("SELECT * FROM repo_refs").fetchall() == [
            ("alpha", "refs/heads/main", "abc")
        ]


def test_a_newer_schema_is_refused(path: Path) -> None:
    with connect(path) as con:
        migrate(con)
        con.execute(
            "INSERT INTO schema_version (version, name, checksum) VALUES (99, 'future', 'f')"
        )
    with connect(path) as con, pytest.raises(WarehouseError) as caught:
        migrate(con)
    message = str(caught.value)
    assert "99" in message
    assert "newer" in message and "upgrade" in message.lower()


def test_readers_refuse_a_newer_schema_with_the_right_advice(path: Path) -> None:
    """`sprintproof migrate` cannot help with a schema from a newer SprintProof; the message must not suggest it."""
    with connect(path) as con:
        migrate(con)
        con.execute(
            "INSERT INTO schema_version (version, name, checksum) VALUES (99, 'future', 'f')"
        )
    with connect(path, read_only=True) as con, pytest.raises(WarehouseError) as caught:
        require_current(con, path)
    message = str(caught.value)
    assert str(path) in message and "99" in message
    assert "upgrade" in message.lower()
    assert "sprintproof migrate" not in message


def test_a_changed_migration_checksum_is_refused(path: Path) -> None:
    with connect(path) as con:
        migrate(con)
        con.execute("UPDATE schema_version SET checksum = '0000000000000000' WHERE version = 1")
    with connect(path) as con, pytest.raises(WarehouseError) as caught:
        migrate(con)
    message = str(caught.value)
    assert "migration 1 (foundation)" in message
    assert "changed" in message


def test_a_failing_migration_is_rolled_back(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = migrations()
    broken = Migration(
        len(shipped) + 1,
        "broken",
        "CREATE TABLE half_done (x INTEGER);\nINSERT INTO half_done VALUES (1);\nCREATE TABLE never (y NO_SUCH_TYPE);\n",
    )
    monkeypatch.setattr(wh, "migrations", lambda: [*shipped, broken])

    with connect(path) as con:
        with pytest.raises(duckdb.Error):
            migrate(con)
        present = tables(con)
        assert "half_done" not in present and "never" not in present
        # The migrations before the broken one stay applied.
        assert created_by(FOUNDATION.read_text(encoding="utf-8")) <= present
        assert schema_version(con) == len(shipped)
        # The connection is usable afterwards: no transaction was left open.
        con.execute("CREATE TABLE after_failure (z INTEGER)")
        assert "after_failure" in tables(con)


def test_a_failing_first_migration_leaves_no_tables(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = migrations()[0]
    monkeypatch.setattr(
        wh,
        "migrations",
        lambda: [Migration(1, first.name, first.sql + "\nSELECT * FROM no_such_table;\n")],
    )
    with connect(path) as con:
        with pytest.raises(duckdb.Error):
            migrate(con)
        assert tables(con) <= {"schema_version"}
        assert schema_version(con) == 0


def test_require_current_refuses_an_unmigrated_file(path: Path) -> None:
    with connect(path) as con:
        con.execute("SELECT 1").fetchall()
    with connect(path, read_only=True) as con, pytest.raises(WarehouseError) as caught:
        require_current(con, path)
    assert str(caught.value).startswith(f"{path}: ")
    assert "sprintproof migrate" in str(caught.value)


def test_require_current_refuses_an_old_schema(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with connect(path) as con:
        migrate(con)
    shipped = migrations()
    newer = Migration(len(shipped) + 1, "later", "CREATE TABLE later_table (x INTEGER);")
    monkeypatch.setattr(wh, "migrations", lambda: [*shipped, newer])

    with connect(path, read_only=True) as con, pytest.raises(WarehouseError) as caught:
        require_current(con, path)
    message = str(caught.value)
    assert str(path) in message
    assert f"schema version {len(shipped)}" in message
    assert "sprintproof migrate" in message

    with connect(path) as con:
        assert migrate(con) == [newer.version]
        require_current(con, path)


def test_read_only_connect_on_a_missing_file(path: Path) -> None:
    with pytest.raises(WarehouseError) as caught, connect(path, read_only=True):
        pass
    assert str(path) in str(caught.value)
    assert not path.exists()
    assert not path.parent.exists()


def test_connect_creates_the_folder_for_a_writer(path: Path) -> None:
    with connect(path) as con:
        assert con.execute("SELECT current_setting('TimeZone')").fetchall() == [("UTC",)]
    assert path.is_file()


def test_connect_where_the_folder_cannot_exist(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    target = blocker / "warehouse.duckdb"
    with pytest.raises(WarehouseError) as caught, connect(target):
        pass
    assert str(target) in str(caught.value)


@pytest.mark.parametrize(
    "content", [b"not a database\n" * 100, bytes(range(256)) * 64], ids=["text", "binary"]
)
def test_connect_to_a_file_that_is_not_a_warehouse(tmp_path: Path, content: bytes) -> None:
    target = tmp_path / "notes.duckdb"
    target.write_bytes(content)
    for read_only in (True, False):
        with pytest.raises(WarehouseError) as caught, connect(target, read_only=read_only):
            pass
        assert str(target) in str(caught.value)
    assert target.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.duckdb"]
