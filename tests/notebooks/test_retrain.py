"""The analyst notebook runs top to bottom on a small world, so it never rots."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notebooks import run_notebook

pytestmark = pytest.mark.slow


def test_retrain_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = run_notebook("retrain_on_labelled_data.ipynb", tmp_path, monkeypatch)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    text = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                   for o in outputs)
    assert "report.html" in text and "acceptable: False" in text
    # The work folder the first cell made (its last expression) is gone at the end.
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    shown = first.outputs[-1]["data"]["text/plain"]  # PosixPath('/tmp/trueclout-notebook-...')
    work = Path(shown.split("'")[1])
    assert work.name.startswith("trueclout-notebook-") and not work.exists()
