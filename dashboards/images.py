"""Static PNG images of Plotly figures, rendered by kaleido in the machine's Chrome or Chromium.

Kaleido 1.x drives a real browser. Its own browser download needs the internet, so the board
pack uses a browser installed on the machine: the executable given by the caller, else the
one named by `BROWSER_PATH` (the variable kaleido and choreographer read too), else the first
of the usual names on the PATH. Without one, `BrowserNotFound` says how to install it.
"""

import asyncio
import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

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


def render_png(
    figures: Sequence[go.Figure],
    shapes: Sequence[Shape],
    *,
    browser: str | Path | None = None,
    timeout: float = 90,
) -> list[bytes]:
    """PNG bytes of each figure at its shape, from one browser session."""
    if len(figures) != len(shapes):
        raise ValueError("one shape per figure")
    if not figures:
        return []
    path = find_browser(browser)

    async def run() -> list[bytes]:
        import kaleido  # imported here: only the board pack needs it

        # One tab: on a small shared machine a second tab costs more start-up time than it saves.
        async with kaleido.Kaleido(n=1, path=str(path), mathjax=False, timeout=timeout) as k:
            out = []
            for fig, shape in zip(figures, shapes, strict=True):
                opts = {"format": "png", "width": shape.width, "height": shape.height, "scale": shape.scale}  # fmt: skip
                out.append(await k.calc_fig(fig, opts=opts))  # type: ignore[arg-type]
            return out

    # Its own thread and event loop: callers may already run one (Dagster, notebooks, Streamlit).
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            return pool.submit(asyncio.run, run()).result()
        except ImageExportError:
            raise
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ImageExportError(
                f"the charts could not be rendered with {path} ({first}); check that it is a working "
                f"Chrome or Chromium, or {INSTALL}"
            ) from exc
