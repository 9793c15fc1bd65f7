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
import numpy as np
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


def test_docstrings_use_mkdocstrings_cross_references() -> None:
    """Sphinx roles (``:func:`x```) render literally on the mkdocstrings API pages; the
    docstrings use ``[name][xseaice.module.name]`` references instead."""
    import ast

    role = re.compile(r":(?:py:)?(?:func|class|data|meth|attr|mod|exc|obj):`")
    package = Path(__file__).parents[1] / "xseaice"
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if role.search(node.value):
                    found.append(f"{path.name}:{node.lineno}")
    assert not found, f"Sphinx roles left in docstrings: {found}"


def test_maths_is_rendered_by_a_local_mathjax() -> None:
    """arithmatex marks ``\\(...\\)``; MathJax is served from the site, not from a CDN."""
    import yaml

    root = Path(__file__).parents[1]
    text = (root / "mkdocs.yml").read_text()
    config = yaml.safe_load(text.replace("!!python/name:", ""))
    extensions = [e if isinstance(e, str) else next(iter(e)) for e in config["markdown_extensions"]]
    assert "pymdownx.arithmatex" in extensions
    scripts = config["extra_javascript"]
    assert "javascripts/mathjax/tex-chtml.js" in scripts
    assert not [s for s in scripts if "://" in str(s)], "no CDN scripts"
    assert "docs/hooks/mathjax.py" in config["hooks"]
    assert '"mathjax"' in (root / "package.json").read_text()


def test_quickstart_reads_and_segments_the_scene_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quickstart persists the logits: every product after them (ALS, binary map,
    topology, the table) reuses them instead of reading the scene and running the U-Net
    again, so no radar window is read twice up to the plots."""
    from collections import Counter

    from xseaice.stac import grd

    reads: Counter[tuple[str, str, tuple[int, int, int, int]]] = Counter()
    real = grd._read_window

    def counting(spec, pol, window):  # type: ignore[no-untyped-def]
        reads[(spec.item_id, pol, tuple(window))] += 1
        return real(spec, pol, window)

    monkeypatch.setattr(grd, "_read_window", counting)
    page = DOCS / "tutorials" / "quickstart.md"
    found = [code for info, code in blocks(page) if "online" not in info]
    upto = next(i for i, code in enumerate(found) if "seaice.topology()" in code)
    namespace: dict[str, object] = {"__name__": "docs_quickstart_once"}
    monkeypatch.chdir(tmp_path)
    for code in found[: upto + 1]:
        exec(compile(code, page.name, "exec"), namespace)
    assert reads, "the quickstart read no radar window"
    twice = {k: n for k, n in reads.items() if n > 1}
    assert not twice, f"radar windows read more than once: {len(twice)} of {len(reads)}"


@pytest.mark.parametrize("name", ["README.md", "docs/index.md"])
def test_first_example_runs_offline(name: str, tmp_path: Path) -> None:
    """The home page and the README lead with an example on the bundled sample: it runs
    here, without the network, and yields a concentration per chart polygon."""
    page = Path(__file__).parents[1] / name
    info, code = blocks(page)[0]
    assert "online" not in info and 'catalog="embedded"' in code
    namespace: dict[str, object] = {"__name__": "docs_first_example"}
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, name, "exec"), namespace)
    finally:
        os.chdir(cwd)
    ice = namespace["ice"]
    assert set(np.unique(ice.values).tolist()) <= {0, 1, 255}  # type: ignore[attr-defined]


def test_readme_gives_the_cpu_index_for_gpu_less_machines() -> None:
    text = (Path(__file__).parents[1] / "README.md").read_text()
    assert "--index-url https://download.pytorch.org/whl/cpu" in text
