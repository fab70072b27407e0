"""Drift gives no verdict on too few accounts: "not enough data", never "DRIFTED ... retrain".

Issue 16: on one stored account `trueclout drift` said the model drifted.  An
unchanged population shows some feature past "drifted" in most samples of 50
accounts and past "watch" in most below 200 (measured: models/reference.py,
``MIN_ACCOUNTS``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trueclout.cli import main
from trueclout.models.artifact import SHIPPED_DIR
from trueclout.models.reference import MIN_ACCOUNTS, NOT_ENOUGH_DATA, read_reference
from trueclout.service.analysts.drift import drift_report
from trueclout.settings import get_settings

SAMPLES = Path(__file__).resolve().parents[3] / "data" / "samples"


def _draws(n: int, seed: int = 0) -> tuple[np.ndarray, tuple[str, ...]]:
    """n accounts whose every feature is drawn from the training reference's own bins."""
    reference = read_reference(SHIPPED_DIR)
    rng = np.random.default_rng(seed)
    columns = []
    for feature in reference.features:
        shares = np.asarray(feature.proportions) / sum(feature.proportions)
        which = rng.choice(len(shares), size=n, p=shares)
        edges = np.asarray(feature.edges, dtype=np.float64)
        # A value inside each bin: its lower edge (bins hold edges[i-1] <= v < edges[i]).
        low = np.concatenate([[edges[0] - 1.0] if len(edges) else [0.0], edges])
        values = low[np.minimum(which, len(low) - 1)]
        values[which == len(shares) - 1] = np.nan  # the NaN bin
        columns.append(values)
    return np.column_stack(columns), reference.names


def test_a_handful_of_accounts_gets_no_verdict() -> None:
    reference = read_reference(SHIPPED_DIR)
    report = drift_report(reference, *_draws(MIN_ACCOUNTS - 1))
    assert report.status == NOT_ENOUGH_DATA
    assert report.to_json()["status"] == NOT_ENOUGH_DATA
    assert any(note.startswith("not enough data:") for note in report.notes)


def test_enough_accounts_of_the_training_population_are_not_drifted() -> None:
    reference = read_reference(SHIPPED_DIR)
    report = drift_report(reference, *_draws(2 * MIN_ACCOUNTS, seed=1))
    assert report.status in ("stable", "watch"), max(f.psi for f in report.features)


def test_the_command_on_one_account_says_not_enough_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRUECLOUT_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        status = main(["drift", "--data", str(SAMPLES / "genuine_steady.json"),
                       "--model", "default"])
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert status == 2
    assert "not enough data: 1 account(s)" in err and f"at least {MIN_ACCOUNTS}" in err
    assert "DRIFTED" not in err and "retrain" not in err
