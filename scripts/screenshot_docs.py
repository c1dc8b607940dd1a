"""Screenshot pages of the docs site with headless Chromium, to look at them.

Builds the site (``mkdocs build --strict``) into a temporary directory, serves it
on 127.0.0.1 (no network beyond the loopback), and saves one PNG per page and
palette with ``chromium --headless --screenshot``. A page is drawn at a desktop
width by default; ``--width 420`` shows what a phone sees.

Usage::

    python scripts/screenshot_docs.py                       # tutorial + production pages
    python scripts/screenshot_docs.py tutorial/login/ --out /tmp/shots
    python scripts/screenshot_docs.py --dark --width 420    # the slate palette, narrow
    python scripts/screenshot_docs.py production-fastapi/ --top 2400  # further down

The PNGs are for reading, not for committing: they go to a temporary directory
unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
DEFAULT_PAGES: Final = (
    "tutorial/",
    "tutorial/first-limit/",
    "tutorial/headers/",
    "tutorial/redis/",
    "production-fastapi/",
)
CHROMIUM_NAMES: Final = ("chromium", "chromium-browser", "google-chrome")
# material keeps the reader's palette in localStorage under "<site root>.__palette"; a
# fresh profile gets the first palette of mkdocs.yml (light). --dark stores the second
# (slate) from a wrapper page of the same origin before the page loads.
DARK_PALETTE: Final = '{"index":1,"color":{"media":"","scheme":"slate","primary":"indigo","accent":"indigo"}}'


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # the base class names it so
        pass


def build_site(site_dir: Path) -> None:
    """``mkdocs build --strict`` into ``site_dir``; a warning fails the build."""
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site_dir)]
    subprocess.run(command, cwd=ROOT, check=True)


@contextlib.contextmanager
def serve(site_dir: Path) -> Iterator[str]:
    """Serve ``site_dir`` on a free loopback port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def find_chromium() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found is not None:
            return found
    raise SystemExit(f"no Chromium found (looked for {', '.join(CHROMIUM_NAMES)})")


def screenshot(chromium: str, url: str, target: Path, *, width: int, height: int) -> None:
    """Draw ``url`` into the PNG ``target`` with a throwaway browser profile."""
    with tempfile.TemporaryDirectory(prefix="traffik-chromium-") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",  # a container's root user has no sandbox
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "--virtual-time-budget=3000",  # let the page's scripts (search, palette) run
            f"--screenshot={target}",
            url,
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    if not target.is_file():
        raise SystemExit(f"Chromium wrote no screenshot for {url}")


def file_name(page: str, *, dark: bool, width: int, top: int) -> str:
    stem = page.strip("/").replace("/", "-") or "index"
    return f"{stem}-{width}{f'-at{top}' if top else ''}{'-dark' if dark else ''}.png"


def wrapper_page(site_dir: Path, page: str, *, top: int, width: int, height: int, dark: bool) -> str:
    """A page of the site that shows ``page`` in a frame, ``top`` pixels down, in the
    chosen palette (headless Chromium draws a page from its top and ignores a URL's
    #fragment); returns its site path."""
    name = f"_screenshot-{abs(hash((page, top, dark)))}.html"
    palette = f"localStorage.setItem('/.__palette', '{DARK_PALETTE}');" if dark else ""
    frame = (
        f'document.body.innerHTML = \'<iframe src="/{page.lstrip("/")}" scrolling="no" '
        f'style="position:absolute;left:0;top:-{top}px;width:{width}px;'
        f"height:{top + height}px;border:0\"></iframe>';"
    )
    html = f'<!doctype html><body style="margin:0"><script>{palette}{frame}</script></body>'
    (site_dir / name).write_text(html, encoding="utf-8")
    return name


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("pages", nargs="*", default=list(DEFAULT_PAGES), help="site paths, e.g. tutorial/")
    parser.add_argument("--out", type=Path, default=None, help="directory for the PNGs (default: a temporary one)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2400)
    parser.add_argument("--dark", action="store_true", help="the dark (slate) palette")
    parser.add_argument("--top", type=int, default=0, help="start this many pixels down the page")
    args = parser.parse_args(argv)

    out: Path = args.out or Path(tempfile.mkdtemp(prefix="traffik-screenshots-"))
    out.mkdir(parents=True, exist_ok=True)
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix="traffik-site-") as site:
        build_site(Path(site))
        with serve(Path(site)) as base:
            for page in args.pages:
                target = out / file_name(page, dark=args.dark, width=args.width, top=args.top)
                shown = page
                if args.top or args.dark:
                    size = {"width": args.width, "height": args.height}
                    shown = wrapper_page(Path(site), page, top=args.top, dark=args.dark, **size)
                url = base + shown.lstrip("/")
                screenshot(chromium, url, target, width=args.width, height=args.height)
                print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
