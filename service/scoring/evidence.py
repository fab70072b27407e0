"""Evidence floors: the value below which a signal is normal for genuine accounts, never a reason.

A model may push risk with a small share (4% of followers sharing a username
pattern, one in 25), but genuine audiences show such shares too, so naming it
as a reason would blame an account for what is ordinary.  The floor of a
feature is the ``PERCENTILE``-th percentile of its values over the genuine
accounts (no tactic label) of a seeded synthetic world; ``rank_reasons``
keeps a feature at or below its floor silent, as it keeps a feature at its
cleanest value silent.

Floors exist for the per-follower and per-engagement shares where more is
riskier (``FLOORED``: audience and engagement shares measured from the
snapshot itself); growth shares are left out because bursts are what genuine
viral accounts show too, and the growth reasons weigh them against
engagement instead.  The figures are measured, stored in
``evidence_floors.json`` beside this module and documented in
docs/TRUST_CHECK.md; regenerate them with::

    trueclout dev evidence-floors

(the measuring lives in ``training.evaluate.evidence_floors``: the service
never simulates).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from trueclout.features.registry import FEATURE_NAMES, REGISTRY

FLOORS_PATH = Path(__file__).resolve().parent / "evidence_floors.json"
PERCENTILE = 95.0
WORLD_ACCOUNTS = 1_500
WORLD_SEED = 2026
FLOORED: tuple[str, ...] = tuple(
    s.name for s in REGISTRY
    if s.family in ("audience", "engagement") and s.unit == "share (0-1)"
    and s.risk_direction > 0 and not s.name.startswith(("audience_model_", "graph_")))


@cache
def evidence_floors() -> np.ndarray:
    """Per feature in registry order, its floor (NaN: none)."""
    stored = json.loads(FLOORS_PATH.read_text())["floors"]
    return np.array([stored.get(name, np.nan) for name in FEATURE_NAMES], dtype=np.float64)


def below_floor(names: tuple[str, ...], values: np.ndarray) -> np.ndarray:
    """Accounts x features: True where a value is at or below its feature's floor."""
    floors = evidence_floors()
    by_name = dict(zip(FEATURE_NAMES, floors, strict=True))
    row = np.array([by_name.get(n, np.nan) for n in names], dtype=np.float64)
    return ~np.isnan(row)[None, :] & (values <= row[None, :])

