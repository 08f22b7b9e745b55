"""Static PNG images of Plotly figures, rendered by kaleido in the machine's Chrome or Chromium.

Kaleido 1.x drives a real browser. Its own browser download needs the internet, so the board
pack uses a browser installed on the machine: the executable given by the caller, else the
one named by `BROWSER_PATH` (the variable kaleido and choreographer read too), else the first
of the usual names on the PATH. Without one, `BrowserNotFound` says how to install it.
"""

import asyncio
import os
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import plotly.graph_objects as go

BROWSER_ENV = "BROWSER_PATH"
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL = "install one with `apt-get install chromium` (Debian, Ubuntu), or set BROWSER_PATH to a Chrome or Chromium executable"  # fmt: skip


class ImageExportError(Exception):
    """The figures could not be turned into images: the message says why and what to do."""


class BrowserNotFound(ImageExportError):
    """No usable Chrome or Chromium on this machine."""


@dataclass(frozen=True)
class Shape:
    """Pixel size of one exported figure; `scale` multiplies it for print sharpness."""

    width: int
    height: int
    scale: float = 2.0


def find_browser(explicit: str | Path | None = None) -> Path:
    """The browser kaleido should drive: `explicit`, then $BROWSER_PATH, then the usual names on the PATH."""
    given = str(explicit) if explicit else os.environ.get(BROWSER_ENV, "")
    if given:
        where = "given" if explicit else f"named by {BROWSER_ENV}"
        found = _executable(given)
        if found is None:
            raise BrowserNotFound(f"no Chrome or Chromium at {given} ({where}): {INSTALL}")
        return found
    for name in BROWSER_NAMES:
        found = _executable(name)
        if found is not None:
            return found
    raise BrowserNotFound(f"the charts need a Chrome or Chromium and none was found: {INSTALL}")


def _executable(name: str) -> Path | None:
    path = Path(name).expanduser()
    if path.is_file():
        return path if os.access(path, os.X_OK) else None
    if os.sep in name:
        return None
    which = shutil.which(name)
    return Path(which) if which else None


class Renderer:
    """One browser session that starts in the background, so it opens while the caller reads its data.

    Use as a context manager; `render` waits for the browser, then draws the figures one by one.
    """

    def __init__(self, browser: str | Path | None = None, *, timeout: float = 90) -> None:
        self.path = find_browser(browser)
        self._timeout = timeout
        # Its own thread and event loop: callers may already run one (Dagster, notebooks, Streamlit).
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kaleido", daemon=True)
        self._thread.start()
        self._session = asyncio.run_coroutine_threadsafe(self._open(), self._loop)

    async def _open(self) -> Any:
        import kaleido  # imported here: only the board pack needs it

        # One tab: on a small shared machine a second one costs more start-up than it saves.
        session = kaleido.Kaleido(n=1, path=str(self.path), mathjax=False, timeout=self._timeout)
        await session.__aenter__()
        return session

    def render(self, figures: Sequence[go.Figure], shapes: Sequence[Shape]) -> list[bytes]:
        """PNG bytes of each figure at its shape."""
        if len(figures) != len(shapes):
            raise ValueError("one shape per figure")

        async def run(session: Any) -> list[bytes]:
            out = []
            for fig, shape in zip(figures, shapes, strict=True):
                opts = {"format": "png", "width": shape.width, "height": shape.height, "scale": shape.scale}  # fmt: skip
                out.append(await session.calc_fig(fig, opts=opts))
            return out

        try:
            session = self._session.result()
            return asyncio.run_coroutine_threadsafe(run(session), self._loop).result()
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ImageExportError(
                f"the charts could not be rendered with {self.path} ({first}); check that it is a "
                f"working Chrome or Chromium, or {INSTALL}"
            ) from exc

    def close(self) -> None:
        try:
            if self._session.exception() is None:
                closing = self._session.result().__aexit__(None, None, None)
                asyncio.run_coroutine_threadsafe(closing, self._loop).result(timeout=60)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=60)
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def render_png(
    figures: Sequence[go.Figure],
    shapes: Sequence[Shape],
    *,
    browser: str | Path | None = None,
    timeout: float = 90,
) -> list[bytes]:
    """PNG bytes of each figure at its shape, from one browser session."""
    if not figures:
        return []
    with Renderer(browser, timeout=timeout) as renderer:
        return renderer.render(figures, shapes)
