"""The dashboard served by `streamlit run` and driven by headless Chromium: for the end-to-end test and the docs' screenshots.

Regenerate docs/screenshots from a warehouse (the demo with its PR and ticket exports, say):

    .venv/bin/python -m tests.dashboards.browser WAREHOUSE docs/screenshots
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
# Chromium's own downloads and background services cannot work offline; none is needed.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# (url path, title): the pages in navigation order; the default page lives at the root.
PAGES = [
    ("", "Board overview"),
    ("adoption", "AI adoption"),
    ("delivery", "Delivery"),
    ("quality", "Quality"),
    ("teams", "Teams"),
    ("health", "Data health"),
    ("sprint-report", "Sprint report"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(warehouse: Path, *, settings: Path | None = None, timeout: float = 90) -> Iterator[str]:
    """`streamlit run dashboards/app.py` on a free local port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "SPRINTPROOF_WAREHOUSE": str(warehouse)}
    if settings is not None:
        env["SPRINTPROOF_DASHBOARD_SETTINGS"] = str(settings)
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        "--runner.magicEnabled", "false", "--client.toolbarMode", "viewer",  # as `sprintproof dashboard` serves it
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{process.stdout.read() if process.stdout else ''}")  # fmt: skip
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit did not answer on {url} within {timeout:.0f} s")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def settle(page, timeout_ms: int = 60_000) -> None:  # type: ignore[no-untyped-def]
    """Wait until the script run has finished: a title, no running indicator, and a page that stopped changing.

    The running indicator appears only after a moment, so its absence alone proves nothing; a
    main block whose content stays the same for a second and a half does.
    """
    page.wait_for_selector("h1", timeout=timeout_ms)
    page.wait_for_function(
        """() => {
            const main = document.querySelector('[data-testid=stMain]');
            const size = main ? main.innerHTML.length : 0;
            const busy = !!document.querySelector('[data-testid=stStatusWidget]');
            const now = Date.now();
            if (busy || size !== window.__sprintproofSize) {
                window.__sprintproofSize = size;
                window.__sprintproofSince = now;
                return false;
            }
            return now - window.__sprintproofSince > 1500;
        }""",
        timeout=timeout_ms,
        polling=250,
    )


def full_screenshot(page, path: Path) -> None:  # type: ignore[no-untyped-def]
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to its height."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll("
        "'[data-testid=stMain], [data-testid=stMainBlockContainer]')].map(e => e.scrollHeight), 800)"
    )
    width = page.viewport_size["width"] if page.viewport_size else 1440
    page.set_viewport_size({"width": width, "height": min(int(height) + 80, 12_000)})
    page.wait_for_timeout(1000)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": width, "height": 900})


def screenshots(warehouse: Path, folder: Path, *, theme: str = "light") -> list[Path]:
    """One PNG per page of the dashboard served on `warehouse`."""
    from playwright.sync_api import sync_playwright

    written = []
    with serve(warehouse) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, color_scheme=theme)  # type: ignore[arg-type]
        for slug, _ in PAGES:
            page.goto(f"{url}/{slug}", wait_until="domcontentloaded")
            settle(page)
            target = folder / f"{slug or 'overview'}.png"
            full_screenshot(page, target)
            written.append(target)
        browser.close()
    return written


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m tests.dashboards.browser WAREHOUSE FOLDER")
    for written_path in screenshots(Path(sys.argv[1]), Path(sys.argv[2])):
        print(written_path)
