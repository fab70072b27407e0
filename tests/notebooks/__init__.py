"""The analyst notebooks run top to bottom on a small world, so they never rot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def run_notebook(name: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Execute ``notebooks/NAME`` in ``folder`` on a 300-account world; fails on any error cell."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("NOTEBOOK_ACCOUNTS", "300")
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    errors = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "error"]
    assert not errors, errors
    return notebook
