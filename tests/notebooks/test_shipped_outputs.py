"""The notebooks ship executed, so they read without running, and the README says how to open
them (issue 16: they shipped without outputs)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.notebooks import NOTEBOOKS

README = NOTEBOOKS.parent / "README.md"


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_a_shipped_notebook_carries_its_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code]
    assert None not in counts and counts == sorted(counts), "run it top to bottom, then ship"
    assert sum(bool(cell.outputs) for cell in code) >= len(code) * 3 // 4
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]


def test_the_readme_says_how_to_open_the_notebooks() -> None:
    text = README.read_text()
    for path in NOTEBOOKS.glob("*.ipynb"):
        assert path.name in text
    assert "jupyter-execute" in text and "kernel" in text
