"""The signals tour runs top to bottom on a small world and draws every plot it promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notebooks import run_notebook
from trueclout.features.registry import FAMILIES

pytestmark = pytest.mark.slow

def test_signals_tour_runs_and_shows_each_family(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = run_notebook("signals_tour.ipynb", tmp_path, monkeypatch)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    outputs = [o for cell in code for o in cell.outputs]
    plots = [o for o in outputs if "image/png" in o.get("data", {})]
    # The AUC bars, the heat map, one figure per family and the two hard-negative scatters.
    assert len(plots) == 2 + len(FAMILIES) + 2
    family_cells = [cell for cell in code if cell.source.startswith("family_plot(")]
    assert [cell.source for cell in family_cells] == [f'family_plot("{f}")' for f in FAMILIES]
    for cell in family_cells:  # a plot and the medians per group under it
        kinds = {key for o in cell.outputs for key in o.get("data", {})}
        assert {"image/png", "text/html"} <= kinds
    text = "".join(str(o.get("text", "")) for o in outputs)
    assert "viral accounts burst above the genuine median" in text
    assert "ring members vs communities, ROC-AUC" in text
