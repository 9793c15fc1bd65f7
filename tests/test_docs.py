"""Every offline code block of the tutorials runs, so the docs cannot rot.

A page's ```` ```python ```` blocks run in order in one namespace, inside a temporary
working directory.  Blocks that need the network are fenced as
```` ```python title="online" ```` and are only compiled.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

DOCS = Path(__file__).parents[1] / "docs"
FENCE = re.compile(r"^```python([^\n]*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
PAGES = sorted((DOCS / "tutorials").glob("*.md"))


def blocks(page: Path) -> list[tuple[str, str]]:
    """The ``python`` code blocks of a page as ``(info string, code)``."""
    return [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(page.read_text())]


def test_tutorials_exist() -> None:
    names = {p.stem for p in PAGES}
    assert {"quickstart", "search", "training", "als", "dask"} <= names, names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_tutorial_runs(page: Path, tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    found = blocks(page)
    assert found, f"{page.name} has no python code block"
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        for i, (info, code) in enumerate(found):
            compiled = compile(code, f"{page.name}[block {i}]", "exec")
            if "online" in info:
                continue
            exec(compiled, namespace)
    finally:
        os.chdir(cwd)
        plt.close("all")
