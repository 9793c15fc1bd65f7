"""Check the built docs site in a real headless browser (Chromium), offline.

Serves the site built by ``mkdocs build`` on loopback, opens the home page, the quick
start tutorial and the training page in ``chromium --headless`` (every host name but
127.0.0.1 unresolvable, so nothing reaches the network), and checks that

* each page renders (a screenshot is written and is not blank);
* every ``<img>`` in the rendered DOM was fetched by the browser with HTTP 200 (the
  loopback server records what it served);
* the maths rendered: the training page's DOM holds MathJax ``mjx-container`` elements, no
  raw ``\\(`` delimiters are left in its text, and the browser fetched MathJax's glyph
  fonts (it does so only to draw maths: a cleared MathJax cache leaves blank formulas
  with the elements in place).

Usage: ``python scripts/check_docs_site.py [SITE_DIR] [--shots DIR]`` (default SITE_DIR
``/tmp/xseaice-site``).  Exits 1 with one line per failure.  Needs the ``chromium`` Debian
package.
"""

from __future__ import annotations

import argparse
import functools
import html.parser
import http.server
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from pathlib import Path
from typing import ClassVar

#: Pages checked: (path in the site, must it hold rendered maths?, images it must show).
PAGES: tuple[tuple[str, bool, int], ...] = (
    ("index.html", False, 0),
    ("tutorials/quickstart/index.html", False, 1),
    ("training/index.html", True, 0),
)
#: MathJax's glyph fonts (MathJax_Zero.woff only measures, it draws nothing).
_GLYPH_FONT = re.compile(r"/MathJax_(?!Zero)[\w-]+\.woff$")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,1600",
    "--virtual-time-budget=15000",
)


class _Recorder(http.server.SimpleHTTPRequestHandler):
    served: ClassVar[dict[str, int]] = {}  # path -> HTTP status of the last page's requests

    def log_message(self, format: str, *args: object) -> None:
        return

    def send_response(self, code: int, message: str | None = None) -> None:
        path = urllib.parse.urlsplit(self.path).path
        self.served[path] = code
        super().send_response(code, message)


class _Images(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.srcs: list[str] = []
        self.math = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.srcs.append(dict(attrs).get("src") or "")
        elif tag == "mjx-container":
            self.math += 1


def _chromium(url: str, extra: list[str], profile: str) -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise SystemExit("chromium is not installed: apt-get install -y chromium")
    cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise SystemExit(f"chromium failed on {url}: {done.stderr.strip()[-500:]}")
    return done.stdout


def _not_blank(png: Path) -> bool:
    from PIL import Image

    with Image.open(png) as im:
        lo, hi = im.convert("L").getextrema()
    return bool(hi - lo > 50)


def check_page(
    base: str, page: str, math: bool, n_images: int, shots: Path, profile: str
) -> list[str]:
    """Failures of one page (empty when it rendered with its images and maths)."""
    url = f"{base}/{page}"
    _Recorder.served.clear()
    dom = _chromium(url, ["--dump-dom"], profile)
    parsed = _Images()
    parsed.feed(dom)
    errors = []
    if "<h1" not in dom:
        errors.append(f"{page}: the rendered DOM has no <h1> heading")
    if len(parsed.srcs) < n_images:
        errors.append(f"{page}: {len(parsed.srcs)} <img> in the DOM, expected >= {n_images}")
    for src in parsed.srcs:
        path = urllib.parse.urlsplit(urllib.parse.urljoin(url, src)).path
        if _Recorder.served.get(path) != 200:
            errors.append(f"{page}: image {src} was not loaded ({_Recorder.served.get(path)})")
    fonts = [p for p, code in _Recorder.served.items() if _GLYPH_FONT.search(p) and code == 200]
    if math and not fonts:  # a browser fetches a web font only to draw its glyphs
        errors.append(f"{page}: MathJax drew no glyphs (no MathJax font was fetched)")
    if math and (parsed.math == 0 or "\\(" in _text(dom)):
        raw = _text(dom).count("\\(")
        errors.append(f"{page}: maths not rendered ({parsed.math} mjx-container, {raw} raw \\()")
    png = shots / (page.replace("/", "_").removesuffix(".html") + ".png")
    _chromium(url, [f"--screenshot={png}"], profile)
    if not png.is_file() or not _not_blank(png):
        errors.append(f"{page}: the screenshot {png} is missing or blank")
    return errors


def _text(dom: str) -> str:
    """The DOM's text outside <script>, <style> and MathJax's own nodes."""

    class _T(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.skip = 0
            self.parts: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("script", "style", "mjx-container", "code", "pre"):
                self.skip += 1

        def handle_endtag(self, tag: str) -> None:
            if tag in ("script", "style", "mjx-container", "code", "pre"):
                self.skip = max(0, self.skip - 1)

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.parts.append(data)

    t = _T()
    t.feed(dom)
    return "".join(t.parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("site", nargs="?", default="/tmp/xseaice-site", type=Path)
    ap.add_argument("--shots", type=Path, default=None, help="where screenshots go")
    args = ap.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"{args.site} has no index.html; run `mkdocs build` first", file=sys.stderr)
        return 1
    handler = functools.partial(_Recorder, directory=str(args.site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as profile, tempfile.TemporaryDirectory() as tmp:
        shots = args.shots or Path(tmp)
        shots.mkdir(parents=True, exist_ok=True)
        try:
            for page, math, n_images in PAGES:
                errors += check_page(base, page, math, n_images, shots, profile)
        finally:
            server.shutdown()
    for e in errors:
        print(e, file=sys.stderr)
    print(f"docs site: {len(PAGES)} pages checked in Chromium, {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
