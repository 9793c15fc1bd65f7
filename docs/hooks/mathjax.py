"""MkDocs hook: serve MathJax from the site itself (no CDN).

``npm ci`` installs the pinned ``mathjax`` package (``package.json``) into
``node_modules/``; after the build this hook copies its CommonHTML TeX bundle and fonts
into ``<site>/javascripts/mathjax/``, where ``docs/javascripts/mathjax-config.js`` and
``mkdocs.yml``'s ``extra_javascript`` expect them.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "node_modules" / "mathjax" / "es5"
FILES = ("tex-chtml.js", "output/chtml/fonts/woff-v2")


def on_post_build(config: Any, **kwargs: Any) -> None:
    """Copy the MathJax bundle and its fonts into the built site."""
    if not (SOURCE / FILES[0]).is_file():
        raise PluginError(
            f"MathJax is not installed ({SOURCE / FILES[0]} is missing): run `npm ci` in "
            f"{ROOT} (package.json pins it) before `mkdocs build`"
        )
    target = Path(config["site_dir"]) / "javascripts" / "mathjax"
    for name in FILES:
        src, dst = SOURCE / name, target / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
