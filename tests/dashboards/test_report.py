"""The board pack read back with pypdf: pages, cover, numbers equal to the warehouse's, privacy, insufficient data, charts, methodology, errors."""

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from dashboards import formatting as fmt
from dashboards import images
from dashboards.report import (
    KPI_METRICS,
    BoardPackError,
    build_board_pack,
    closed_tracker_sprints,
    default_sprint,
    pack_file_name,
)
from ingestion.warehouse import connect
from metrics.definitions import definitions
from tests.dashboards import fixture_warehouse
from tests.dashboards.fixture_warehouse import LAST_CLOSED, SECRET_NOTE, Fixture

pytest_plugins = ("tests.dashboards.support",)

ORG = "__org__"
LEAKED = 0.8765  # given to the suppressed team's rows below, as a leak would: the pack must never print it


def pages(path: Path) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(str(path)).pages]


HEADINGS = ("Executive summary", "Headline numbers", "Trends", "Teams", "Methodology and definitions",
            "Data coverage and freshness")  # fmt: skip


def page_with(texts: list[str], heading: str) -> str:
    """The text of a section: its first page (found by its heading) and the pages it runs on to."""
    # The footer comes first in a page's text: headings are among its first lines.
    starts = [next((h for h in HEADINGS if h in t.splitlines()[:3]), None) for t in texts]
    assert heading in starts, f"no page starts with {heading!r}"
    first = starts.index(heading)
    last = first + 1
    while last < len(texts) and starts[last] is None:
        last += 1
    return "\n".join(texts[first:last])


def flat(text: str) -> str:
    """Text with line breaks as spaces: table cells wrap wherever the column ends."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def leaky(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    """The fixture warehouse, with numbers put back into the suppressed team's rows."""
    fixture = fixture_warehouse.build(tmp_path_factory.mktemp("pack") / "warehouse.duckdb")
    with connect(fixture.path) as con:
        con.execute(
            "UPDATE sprint_metrics SET value = ?, numerator = 8765, denominator = 10000, ci_low = ?, "
            "ci_high = ?, coverage = 1 WHERE team = 'Tiny'",
            [LEAKED, LEAKED - 0.01, LEAKED + 0.01],
        )
    return fixture


@pytest.fixture(scope="module")
def pack(leaky: Fixture, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out") / "reports" / "pack.pdf"
    built = build_board_pack(leaky.path, organisation="Acme Robotics", out=out, now=leaky.now)
    assert built == out
    return out


@pytest.fixture(scope="module")
def running_pack(leaky: Fixture) -> bytes:
    """The running sprint, for the organisation and Mobile only, returned as bytes."""
    running = leaky.sprints[-1]
    built = build_board_pack(
        leaky.path,
        sprint_id=running.org_id,
        teams=[ORG, "Mobile"],
        organisation="Acme Robotics",
        now=leaky.now,
    )
    assert isinstance(built, bytes)
    return built


def test_the_pack_has_a_cover_and_every_part(pack: Path, leaky: Fixture) -> None:
    texts = pages(pack)
    assert 7 <= len(texts) <= 16
    cover = flat(texts[0])
    assert "Acme Robotics" in cover
    assert f"Sprint {leaky.last_closed.org_name}" in cover
    assert f"Organisation sprint {leaky.last_closed.org_id}, closed" in cover
    assert f"Prepared on {leaky.now:%d %B %Y}" in cover
    for heading in HEADINGS:
        page_with(texts, heading)
    reader = PdfReader(str(pack))
    assert reader.metadata is not None and "Acme Robotics" in str(reader.metadata.title)
    assert not list(pack.parent.glob(".board-pack-*")), "the temporary file is renamed into place"
    assert pack.stat().st_mode & 0o044, (
        "readable by others as any file written there (not mkstemp's 0600)"
    )


def test_the_headline_numbers_are_the_warehouses(pack: Path, leaky: Fixture) -> None:
    table = flat(page_with(pages(pack), "Headline numbers"))
    with duckdb.connect(str(leaky.path), read_only=True) as con:
        rows = con.execute(
            "SELECT metric_id, value, numerator, denominator, ci_low, ci_high, status FROM sprint_metrics "
            "WHERE team = ? AND sprint_id = ? AND metric_id IN (SELECT unnest(?))",
            [ORG, leaky.last_closed.org_id, list(KPI_METRICS)],
        ).fetchall()
    assert len(rows) >= 10
    for metric_id, value, _, _, low, high, status in rows:
        assert status == "ok"
        assert fmt.value(metric_id, value) in table, metric_id
        assert f"{fmt.interval(metric_id, low, high)}" in table, metric_id
    # Counted from the listed facts: 7 of 20 work commits with AI, so 35 %.
    assert "acr_commits v1 · 7 / 20" in table
    assert "35 %" in table
    # Against the baseline: the engine's own ratio, and the published bands beside it.
    assert "1.60× the baseline" in table
    assert "35 %–45 % (2 months after rollout)" in table


def test_a_suppressed_team_is_named_but_none_of_its_numbers(pack: Path) -> None:
    texts = pages(pack)
    teams = flat(page_with(texts, "Teams"))
    assert "Tiny suppressed: below the minimum group size" in teams
    everything = flat("\n".join(texts))
    assert SECRET_NOTE not in everything
    for leaked in (fmt.value("acr_lines", LEAKED), "8,765", "0.877", "87.65", "0.8765"):
        assert leaked not in everything, leaked
    summary = flat(page_with(texts, "Executive summary"))
    assert "Tiny is below the minimum group size and not shown on its own" in summary


def test_the_summary_says_what_moved_and_how_sure(pack: Path, leaky: Fixture) -> None:
    summary = flat(page_with(pages(pack), "Executive summary"))
    previous = leaky.sprints[LAST_CLOSED - 1].org_name
    assert "detected AI produced 43 % of the lines Acme Robotics added (+5.0 pts on the previous sprint)" in summary  # fmt: skip
    assert f"Detected AI share of added lines: 43 % (90 % interval 39 % to 47 %), +5.0 pts on {previous}" in summary  # fmt: skip
    assert "the previous value lies outside this sprint's interval" in summary
    assert "Velocity was 1.60× the pre-AI baseline (interval 1.45× to 1.75×)" in summary
    assert "Not enough data this sprint" not in summary


def test_insufficient_data_is_said_plainly(running_pack: bytes, tmp_path: Path) -> None:
    path = tmp_path / "running.pdf"
    path.write_bytes(running_pack)
    texts = pages(path)
    summary = flat(page_with(texts, "Executive summary"))
    assert "is still running: every number below may still change" in summary
    assert "Not enough data this sprint" in summary
    assert "Velocity against the pre-AI baseline: insufficient data (velocity of a running sprint is not compared)." in summary  # fmt: skip
    table = flat(page_with(texts, "Headline numbers"))
    assert "insufficient data (velocity of a running sprint is not compared)" in table
    teams = flat(page_with(texts, "Teams"))
    assert "Mobile" in teams and "Web" not in teams and "Tiny" not in teams


def test_charts_are_embedded_as_images(pack: Path) -> None:
    reader = PdfReader(str(pack))
    counted = [len(page.images) for page in reader.pages]
    texts = pages(pack)
    trend_pages = [i for i, t in enumerate(texts) if "Trends" in t.splitlines()[:3]]
    assert trend_pages and counted[trend_pages[0]] == 3
    # ACR flavours, agentic, velocity, bug density, cycle time, tool mix, modes; the teams' comparison.
    assert sum(counted) == 8
    image = reader.pages[trend_pages[0]].images[0].image
    assert image is not None and image.mode == "RGB" and image.size[0] >= 1500


def test_every_page_renders_to_an_image(pack: Path) -> None:
    """Each page rasterised (PDFium, the renderer of Chromium's PDF viewer): A4, not blank, charts in colour."""
    document = pdfium.PdfDocument(str(pack))
    try:
        texts = pages(pack)
        trend_page = next(i for i, t in enumerate(texts) if "Trends" in t.splitlines()[:3])
        for index in range(len(document)):
            page = document[index]
            width, height = page.get_size()
            assert (round(width), round(height)) == (595, 842)  # A4 portrait, in points
            image = page.render(scale=1).to_pil().convert("RGB")
            assert abs(image.size[0] - width) <= 1 and abs(image.size[1] - height) <= 1
            colours = image.getcolors(maxcolors=1 << 20) or []
            assert len(colours) > 2, f"page {index + 1} renders blank"
            if index == trend_page:
                saturated = sum(n for n, (r, g, b) in colours if max(r, g, b) - min(r, g, b) > 60)
                assert saturated > 400, "the trend charts render in colour"
    finally:
        document.close()


def test_methodology_lists_the_definitions_with_their_versions(pack: Path) -> None:
    methodology = flat(page_with(pages(pack), "Methodology and definitions"))
    for metric_id in KPI_METRICS:
        if metric_id == "ai_durability":  # not computed in this warehouse: named as such
            assert "Not computed in this warehouse yet: ai_durability" in methodology
            continue
        assert f"{metric_id} v{definitions()[metric_id].version}" in methodology, metric_id
    assert "Detected, not total." in methodology
    assert "never inputs to any computation" in methodology


def test_coverage_and_freshness_come_from_the_health_report(pack: Path) -> None:
    health = flat(page_with(pages(pack), "Data coverage and freshness"))
    assert "Identities credited to a team" in health
    assert "git mobile-app failed" in health
    assert "mobile-app: the last run failed: mirror fetch refused: authentication failed" in health
    assert "2 identities belong to no configured person" in health


def test_no_browser_is_one_clear_message(
    warehouse: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(BoardPackError, match=r"apt-get install chromium") as caught:
        build_board_pack(warehouse.path, browser="/nonexistent/chromium")
    assert "/nonexistent/chromium" in str(caught.value)
    monkeypatch.setenv(images.BROWSER_ENV, "/nonexistent/chrome")
    with pytest.raises(BoardPackError, match=r"named by BROWSER_PATH.*apt-get install chromium"):
        build_board_pack(warehouse.path)
    monkeypatch.delenv(images.BROWSER_ENV)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(images.BrowserNotFound, match="none was found"):
        images.find_browser()


def test_a_browser_that_does_not_start_is_reported_not_raised(warehouse: Fixture, tmp_path: Path) -> None:  # fmt: skip
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(BoardPackError, match="could not be rendered"):
        build_board_pack(warehouse.path, browser=fake)


def test_user_errors_name_the_fix(warehouse: Fixture, tmp_path: Path) -> None:
    with pytest.raises(BoardPackError, match=r"unknown sprint 'nope'.*the latest: "):
        build_board_pack(warehouse.path, sprint_id="nope")
    with pytest.raises(BoardPackError, match="unknown team 'Nobody'"):
        build_board_pack(warehouse.path, teams=["Nobody"])
    with pytest.raises(BoardPackError, match="does not exist"):
        build_board_pack(tmp_path / "missing.duckdb")
    with pytest.raises(BoardPackError, match="warehouse is empty"):
        build_board_pack(fixture_warehouse.build_empty(tmp_path / "empty.duckdb"))
    with pytest.raises(BoardPackError, match="run `sprintproof metrics`"):
        build_board_pack(fixture_warehouse.build_without_metrics(tmp_path / "raw.duckdb"))


def test_the_default_sprint_is_the_last_closed_one(warehouse: Fixture) -> None:
    assert default_sprint(warehouse.path).sprint_id == warehouse.last_closed.org_id
    assert pack_file_name("2026-11-16") == "board-pack-2026-11-16.pdf"
    assert pack_file_name("../Sprint 4/x") == "board-pack-.._Sprint_4_x.pdf"


def test_closed_tracker_sprints_map_to_their_organisation_sprint(warehouse: Fixture, tmp_path: Path) -> None:  # fmt: skip
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse.path, path)
    last, running = warehouse.last_closed, warehouse.sprints[-1]
    with connect(path) as con:
        fixture_warehouse.insert(con, "sprints", [
            {"source": "jira", "tracker": "jira", "sprint_id": "101", "board_id": "1", "name": "WEB 7",
             "state": "closed", "start_at": last.start, "end_at": last.end, "completed_at": last.end - timedelta(hours=3)},
            {"source": "jira", "tracker": "jira", "sprint_id": "102", "board_id": "1", "name": "WEB 8",
             "state": "active", "start_at": running.start, "end_at": running.end},
            {"source": "linear", "tracker": "linear", "sprint_id": "c9", "board_id": "t", "name": "Cycle 9",
             "state": "closed", "start_at": running.start, "end_at": running.end, "completed_at": running.start + timedelta(days=1)},
        ])  # fmt: skip
    found = closed_tracker_sprints(path, None)
    assert [(s.sprint_id, s.org_sprint_id) for s in found] == [("101", last.org_id), ("c9", running.org_id)]  # fmt: skip
    assert [s.sprint_id for s in closed_tracker_sprints(path, last.end - timedelta(hours=1))] == ["c9"]  # fmt: skip
    assert closed_tracker_sprints(warehouse.path, datetime(2020, 1, 1, tzinfo=UTC)) == []
