"""End to end: `streamlit run dashboards/app.py` on the fixture warehouse, every page loaded in headless Chromium."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dashboards.browser import CHROMIUM, CHROMIUM_ARGS, PAGES, full_screenshot, serve, settle
from tests.dashboards.fixture_warehouse import Fixture

pytest_plugins = ("tests.dashboards.support",)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package",
)

# What each page must visibly show on the fixture warehouse, besides its title.
EXPECTED = {
    "": ["ACR (lines)", "43 %", "Velocity acceleration", "1.60×"],
    "adoption": ["Evidence: what is behind a number", "AI-attributed of"],
    "delivery": ["Deployments (DORA)", "Velocity acceleration"],
    "quality": ["Bug density, in its three denominators", "not computed yet"],
    "teams": ["Suppressed: Tiny"],
    "health": ["Freshness per source", "mirror fetch refused"],
    "sprint-report": ["Download CSV", "Build the board pack (PDF)"],
}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def served(warehouse: Fixture) -> Iterator[str]:
    with serve(warehouse.path) as url:
        yield url


def test_every_page_in_a_real_browser(browser, served: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    folder = tmp_path / "screenshots"
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    for slug, title in PAGES:
        page.goto(f"{served}/{slug}", wait_until="domcontentloaded")
        settle(page)
        assert page.locator("h1").first.inner_text() == title
        body = page.locator("[data-testid=stMain]").inner_text()
        for expected in EXPECTED[slug]:
            assert expected in body, f"{title}: {expected!r} not shown"
        assert page.locator("[data-testid=stException]").count() == 0, title
        if slug in ("", "adoption", "delivery", "quality", "teams"):
            assert page.locator("[data-testid=stPlotlyChart]").count() > 0, f"{title}: no chart"
        full_screenshot(page, folder / f"{slug or 'overview'}.png")
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{s or 'overview'}.png" for s, _ in PAGES)  # fmt: skip
    assert errors == []
    request.node.user_properties.append(("screenshots", str(folder)))
    print(f"screenshots: {folder}")


def test_a_link_reproduces_a_view(browser, served: str, warehouse: Fixture) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    first = warehouse.sprints[1].org_id
    page.goto(f"{served}/?team=Web&from={first}", wait_until="domcontentloaded")
    settle(page)
    body = page.locator("[data-testid=stMain]").inner_text()
    assert f"Web · {warehouse.last_closed.team_name('Web')}" in body and "48 %" in body
    # Another page keeps the filters, in the view and in the address.
    page.get_by_role("link", name="Teams").click()
    page.wait_for_url("**/teams**")
    settle(page)
    assert "team=Web" in page.url and f"from={first}" in page.url
    table = page.locator("[data-testid=stMain]").inner_text()
    assert "Web" in table and "Suppressed: Tiny" not in table
