"""Where the dashboard finds its data, the settings file, viewer roles, and the filters in the URL."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from dashboards import filters
from dashboards.settings import (
    EVERYTHING,
    NOTHING,
    Access,
    Auth,
    SettingsError,
    from_mapping,
    load,
)


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_arguments_override_environment_which_overrides_the_file(tmp_path: Path) -> None:
    file = write(
        tmp_path / "s.json", {"warehouse": "from-file.duckdb", "snapshot": "snap/file.duckdb"}
    )
    env = {"SPRINTPROOF_DASHBOARD_SETTINGS": str(file), "SPRINTPROOF_WAREHOUSE": "/env/w.duckdb"}
    assert load([], env).warehouse == Path("/env/w.duckdb")
    assert (
        load([], env).snapshot == tmp_path / "snap" / "file.duckdb"
    )  # relative to the settings file
    assert load(["--warehouse", "/arg/w.duckdb"], env).warehouse == Path("/arg/w.duckdb")
    assert load([], {}).warehouse is None


def test_unrelated_arguments_are_left_alone(tmp_path: Path) -> None:
    # Under pytest or Streamlit, sys.argv carries their own options.
    settings = load(["-q", "-n", "2", "--set", "x", "--warehouse", "w.duckdb"], {})
    assert settings.warehouse == Path("w.duckdb")


def test_the_snapshot_is_read_when_it_exists(tmp_path: Path) -> None:
    warehouse, snapshot = tmp_path / "w.duckdb", tmp_path / "snapshot" / "w.duckdb"
    warehouse.write_bytes(b"")
    env = {"SPRINTPROOF_WAREHOUSE": str(warehouse), "SPRINTPROOF_SNAPSHOT": str(snapshot)}
    assert load([], env).data_path == warehouse
    snapshot.parent.mkdir()
    snapshot.write_bytes(b"")
    assert load([], env).data_path == snapshot
    assert load([], {"SPRINTPROOF_SNAPSHOT": str(snapshot)}).data_path == snapshot


def test_the_documented_settings_file(tmp_path: Path) -> None:
    file = write(tmp_path / "dashboard.json", {
        "organisation": "Acme Robotics",
        "privacy": {"min_group_size": 4, "per_person_views": True},
        "auth": {"enabled": True, "provider": "okta",
                 "roles": {"VP@acme.example": ["*"], "lead@acme.example": ["Web"]}},
        "metrics": {"confidence": 0.8},
        "checks": {"freshness_hours": 24, "window_days": 14, "identity_coverage": 0.9},
    })  # fmt: skip
    s = load(["--settings", str(file)], {})
    assert (s.organisation, s.min_group_size, s.per_person_views, s.confidence) == ("Acme Robotics", 4, True, 0.8)  # fmt: skip
    assert s.auth.enabled and s.auth.provider == "okta"
    assert s.auth.roles == (("vp@acme.example", ("*",)), ("lead@acme.example", ("Web",)))
    assert (s.checks.freshness_hours, s.checks.window_days, s.checks.identity_coverage) == (
        24.0,
        14,
        0.9,
    )
    assert s.checks.drift_threshold == 3.5


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"organisaton": "typo"}, "unknown key organisaton"),
        ({"privacy": {"min_group": 2}}, "unknown key privacy.min_group"),
        ({"privacy": {"min_group_size": "3"}}, "privacy.min_group_size: expected an integer"),
        (
            {"privacy": {"per_person_views": "yes"}},
            "privacy.per_person_views: expected true or false",
        ),
        ({"auth": {"enabled": "true"}}, "auth.enabled: expected true or false"),
        ({"auth": {"roles": {"lead": ["Web"]}}}, "is not an e-mail address"),
        (
            {"auth": {"roles": {"lead@acme.example": "Web"}}},
            "auth.roles.lead@acme.example: expected a list",
        ),
        ({"metrics": {"confidence": 90}}, "metrics.confidence: expected a number between 0 and 1"),
        ({"checks": {"identity_coverage": 80}}, "checks.identity_coverage: expected a share"),
        ({"checks": {"window_days": 1.5}}, "checks.window_days: expected a positive int"),
    ],
)
def test_settings_errors_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        from_mapping(data, where="dashboard.json")


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read the dashboard settings"):
        load(["--settings", str(tmp_path / "none.json")], {})
    bad = tmp_path / "bad.json"
    bad.write_text('{"organisation": "x",,}', encoding="utf-8")
    with pytest.raises(SettingsError, match=r"bad.json: line 1, column 22: not valid JSON"):
        load(["--settings", str(bad)], {})


def test_roles() -> None:
    auth = Auth(enabled=True, roles=(("vp@acme.example", ("*",)), ("lead@acme.example", ("Web",)),
                                     ("dir@acme.example", ("Web", "__org__")), ("@partner.example", ("Mobile",))))  # fmt: skip
    assert auth.access_for("VP@Acme.example") == EVERYTHING
    lead = auth.access_for("lead@acme.example")
    assert lead == Access(frozenset({"Web"}), organisation=False)
    assert lead.allows("Web") and not lead.allows("Mobile") and not lead.allows("__org__")
    assert auth.access_for("dir@acme.example").allows("__org__")
    assert auth.access_for("x@partner.example") == Access(frozenset({"Mobile"}), organisation=False)
    assert auth.access_for("x@elsewhere.example") == NOTHING
    assert auth.access_for(None) == NOTHING
    assert Auth(enabled=False).access_for(None) == EVERYTHING


# --------------------------------------------------------------------------- filters


def calendar(n: int) -> pl.DataFrame:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    return pl.DataFrame({
        "sprint_id": [f"s{i}" for i in range(n)],
        "sprint_start": [start + timedelta(days=14 * i) for i in range(n)],
        "sprint_end": [start + timedelta(days=14 * (i + 1)) for i in range(n)],
    })  # fmt: skip


def query(**params: list[str]):  # type: ignore[no-untyped-def]
    return lambda key: params.get(key, [])


def test_selection_from_the_url_keeps_known_values_only() -> None:
    ids = ["s0", "s1", "s2", "s3"]
    got = filters.from_query(query(**{"from": ["s3"], "to": ["s1"], "team": ["Web", "Nope", "Web"], "repo": ["r"]}),
                             ids, ["Web", "Mobile"], ["a"])  # fmt: skip
    assert got == filters.Selection("s1", "s3", ("Web",), ())


def test_selection_round_trips_through_the_url_and_leaves_defaults_out() -> None:
    ids = ["s0", "s1", "s2", "s3"]
    assert filters.to_query(filters.Selection("s0", "s3"), ids) == {}
    selection = filters.Selection("s1", "s2", ("Web", "Mobile"), ("web-app",))
    params = filters.to_query(selection, ids)
    assert params == {"from": ["s1"], "to": ["s2"], "team": ["Web", "Mobile"], "repo": ["web-app"]}
    assert (
        filters.from_query(lambda k: params.get(k, []), ids, ["Web", "Mobile"], ["web-app"])
        == selection
    )


def test_window_spans_the_selected_sprints() -> None:
    frame = calendar(4)
    start, end = filters.window(filters.Selection("s1", "s2"), frame)
    assert (start, end) == (datetime(2026, 1, 19, tzinfo=UTC), datetime(2026, 2, 16, tzinfo=UTC))
    assert filters.window(filters.Selection(None, None), frame) == (
        datetime(2026, 1, 5, tzinfo=UTC),
        datetime(2026, 3, 2, tzinfo=UTC),
    )
    assert filters.window(filters.Selection(None, None), calendar(0)) == (None, None)
