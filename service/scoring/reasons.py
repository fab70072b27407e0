"""Ranked reasons: which signals raised an account's risk, in the account's own numbers.

Like adverse-action reasons in credit scoring, a reason is a stable code from
a documented catalogue (the feature registry's ``reason_code``), its family,
one plain-language sentence and its contribution.  The rule:

0. Reasons explain a risk: an account gets them only when its calibrated
   risk is at least ``min_probability`` (default 0.5, more likely manipulated
   than not).  Below it no signal raised the risk enough to explain, and a
   list of weak "reasons" would read as an accusation.
1. Contributions are the overall model's per-feature log-odds contributions
   (``Prediction.contributions``, TreeSHAP).  A feature whose value is
   unknown (NaN) contributes nothing: missing data is never a reason.  Nor
   does a feature at its cleanest value (a share of 0 where more is riskier,
   1 where less is; a non-negative score such as a loss or burst z of 0):
   "0% of ..." or "lost 0 followers" explains nothing.  Nor does a feature at or
   below its evidence floor (``scoring.evidence``: what 95% of genuine
   accounts show): a value that is normal for genuine accounts is no evidence.
2. Contributions are summed per reason code; a code is a candidate when its
   sum is at least ``min_contribution`` (log-odds; a smaller push is noise,
   not a reason).  Only signals that *raised* the risk are reasons.
3. Profile-family codes (account age, not verified, few lists, ...) are weak
   on their own and describe the person rather than their audience: they are
   reasons only when the risk level is in ``profile_levels`` (default:
   ``high``) and their contribution reaches ``profile_min_contribution``.
4. The strongest ``max_reasons`` candidates (default 4), strongest first.
   The message is the template of the code's strongest feature, filled with
   the account's numbers (``registry.render_reason``); registry templates
   describe signals and never accuse a person.

Everything up to the messages is arrays over all accounts (one matrix
product groups contributions by code); sentences are written only for the
reasons kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trueclout.assessment import Reason
from trueclout.features.frame import FeatureFrame
from trueclout.features.registry import REGISTRY, render_reason, spec
from trueclout.service.scoring.evidence import below_floor


@dataclass(frozen=True)
class ReasonPolicy:
    """Which signals become reasons (see the module docstring)."""

    max_reasons: int = 4
    min_probability: float = 0.5
    min_contribution: float = 0.1
    profile_levels: frozenset[str] = frozenset({"high"})
    profile_min_contribution: float = 1.0


DEFAULT_POLICY = ReasonPolicy()
CODES: tuple[str, ...] = tuple(sorted({s.reason_code for s in REGISTRY}))
CODE_FAMILY: dict[str, str] = {s.reason_code: s.family for s in REGISTRY}
if any(CODE_FAMILY[s.reason_code] != s.family for s in REGISTRY):
    raise RuntimeError("a reason code spans two families; the catalogue needs one per code")
PROFILE_CODES = np.array([CODE_FAMILY[c] == "profile" for c in CODES])
# Units whose range is [0, 1]: their cleanest value is an end of that range.
_BOUNDED_UNITS = frozenset({"share (0-1)", "index (0-1)", "1/0"})
# Units that are never negative (scores clipped at 0, turnover rates): where
# more is riskier, 0 means the signal saw nothing.
_NON_NEGATIVE_UNITS = frozenset({"log(1 + robust z)", "log10(1 + relative gain)", "accounts",
                                 "share of following per 30 days"})


@dataclass(frozen=True)
class RankedReasons:
    """Per account, up to ``max_reasons`` (code index, strongest feature index, contribution)."""

    picks: list[list[tuple[int, int, float]]]


def _membership(names: tuple[str, ...]) -> np.ndarray:
    """Features x codes, 1 where the feature belongs to the code."""
    matrix = np.zeros((len(names), len(CODES)))
    column = {c: j for j, c in enumerate(CODES)}
    for i, name in enumerate(names):
        matrix[i, column[spec(name).reason_code]] = 1.0
    return matrix


def _clean_ends(names: tuple[str, ...]) -> np.ndarray:
    """Per feature, the value that is as clean as it gets (NaN for unbounded features)."""
    ends = np.full(len(names), np.nan)
    for i, name in enumerate(names):
        feature = spec(name)
        if feature.unit in _BOUNDED_UNITS:
            ends[i] = 0.0 if feature.risk_direction > 0 else 1.0
        elif feature.unit in _NON_NEGATIVE_UNITS and feature.risk_direction > 0:
            ends[i] = 0.0
    return ends


def rank_reasons(frame: FeatureFrame, contributions: np.ndarray, risk: np.ndarray,
                 levels: np.ndarray, policy: ReasonPolicy = DEFAULT_POLICY) -> RankedReasons:
    """Candidates per account, ranked; ``risk`` and ``levels``: the accounts' risk and level."""
    n = len(frame)
    if policy.max_reasons <= 0 or n == 0:
        return RankedReasons([[] for _ in range(n)])
    silent = (np.isnan(frame.values) | (frame.values == _clean_ends(frame.names)[None, :])
              | below_floor(frame.names, frame.values))
    known = np.where(silent, 0.0, np.asarray(contributions, dtype=np.float64))
    membership = _membership(frame.names)
    grouped = known @ membership
    strongest = np.zeros((n, len(CODES)), dtype=np.int64)
    for j in range(len(CODES)):
        members = np.flatnonzero(membership[:, j])
        strongest[:, j] = members[np.argmax(known[:, members], axis=1)]
    profile_ok = np.isin(levels, list(policy.profile_levels))[:, None]
    explained = (np.asarray(risk) >= policy.min_probability)[:, None]
    eligible = explained & (grouped >= policy.min_contribution) & (
        ~PROFILE_CODES[None, :]
        | (profile_ok & (grouped >= policy.profile_min_contribution)))
    score = np.where(eligible, grouped, -np.inf)
    k = min(policy.max_reasons, len(CODES))
    order = np.argsort(-score, axis=1, kind="stable")[:, :k]
    picks = []
    for i in range(n):
        row = [(int(j), int(strongest[i, j]), float(grouped[i, j]))
               for j in order[i] if eligible[i, j]]
        picks.append(row)
    return RankedReasons(picks)


def render_reasons(frame: FeatureFrame, ranked: RankedReasons, i: int) -> list[Reason]:
    """Account ``i``'s reasons as contract objects, with its own numbers in each message."""
    picks = ranked.picks[i]
    if not picks:
        return []
    values = frame.values[i]
    context = {name: column[i] for name, column in frame.context.items()}
    return [Reason(code=CODES[j], family=CODE_FAMILY[CODES[j]],  # type: ignore[arg-type]
                   message=render_reason(frame.names[f], values, context),
                   contribution=round(contribution, 4))
            for j, f, contribution in picks]
