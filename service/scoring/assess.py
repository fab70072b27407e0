"""The assessment: features -> model -> adjusted score, risk, reasons, reach, confidence.

One composition for one account and for many: the online path passes one
snapshot (``assess_snapshots``), batch scoring passes tables of n accounts
(``assess_tables``) and gets the same numbers by construction.  Everything
up to the contract objects is arrays over the accounts (``judge``);
``to_assessments`` only dresses each account's row.

What each field means and how it is derived is documented in docs/API.md
("The assessment"); the rules live in their own modules:
``adjustment`` (adjusted score), ``corrections`` (why a likely tactic was not
corrected for), ``confidence`` (data sufficiency), ``reasons`` (ranked reasons).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

import numpy as np
import pyarrow as pa

from trueclout.assessment import (
    TACTICS,
    Assessment,
    AuthenticReach,
    Confidence,
    Evidence,
    ModelRef,
    Risk,
    Tactics,
)
from trueclout.fast_contract import ScorableSnapshot
from trueclout.features.families.growth_days import burst_days
from trueclout.features.frame import FeatureFrame
from trueclout.features.pipeline import compute_features, with_graph
from trueclout.models.account_model import LEVELS, Prediction
from trueclout.models.artifact import Artifact
from trueclout.service.scoring.adjustment import (
    adjusted_scores,
    inauthentic_engagement_shares,
    ring_engagement_share,
)
from trueclout.service.scoring.confidence import ConfidenceVerdicts, judge_confidence
from trueclout.service.scoring.corrections import correction_notes
from trueclout.service.scoring.reasons import (
    DEFAULT_POLICY,
    RankedReasons,
    ReasonPolicy,
    rank_reasons,
    render_reasons,
)
from trueclout.tables import SnapshotTables, snapshots_to_tables

# With confidence "insufficient" the level is capped here, so the flag (set only
# at "high") is never raised on a guess.
INSUFFICIENT_LEVEL_CAP = "elevated"
CONTRIBUTIONS = "exact"
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Judgement:
    """Everything an assessment says, as arrays aligned with the accounts (batch output)."""

    frame: FeatureFrame
    prediction: Prediction
    raw_score: np.ndarray  # NaN: none given
    adjusted_score: np.ndarray  # NaN: no raw score
    inauthentic_audience: np.ndarray  # the shares the adjusted score removed (a, e)
    inauthentic_engagement: np.ndarray
    level: np.ndarray  # after the insufficient-data cap
    flag: np.ndarray
    fake_share: np.ndarray  # NaN: no follower sample or no follower model
    fake_share_low: np.ndarray
    fake_share_high: np.ndarray
    authentic: np.ndarray  # estimated authentic followers (float; NaN as fake_share)
    authentic_low: np.ndarray
    authentic_high: np.ndarray
    confidence: ConfidenceVerdicts
    reasons: RankedReasons
    burst_days: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.raw_score)


def assess_snapshots(
    snapshots: Sequence[ScorableSnapshot],
    model: Artifact,
    *,
    graph: pa.Table | None,
    scored_at: datetime,
    policy: ReasonPolicy = DEFAULT_POLICY,
    on_features: Callable[[FeatureFrame], None] | None = None,
) -> list[Assessment]:
    """One assessment per snapshot, in order (the online path; one snapshot is n = 1).

    Tables hold one row per account, so snapshots repeating an account (a
    batch with two snapshots of it) are scored in rounds of distinct accounts.
    ``on_features`` sees each round's feature frame (the drift window).
    """
    out: list[Assessment | None] = [None] * len(snapshots)
    for positions in _distinct_rounds([s.account_id for s in snapshots]):
        tables = snapshots_to_tables([snapshots[i] for i in positions])
        scored = assess_tables(tables, model, graph=graph, scored_at=scored_at, policy=policy,
                               on_features=on_features)
        for i, assessment in zip(positions, scored, strict=True):
            out[i] = assessment
    return [a for a in out if a is not None]


def _distinct_rounds(account_ids: Sequence[str]) -> list[list[int]]:
    """Positions grouped so that no account repeats within a group (one group when none does)."""
    seen: dict[str, int] = {}
    rounds: list[list[int]] = []
    for i, account in enumerate(account_ids):
        r = seen.get(account, 0)
        seen[account] = r + 1
        if r == len(rounds):
            rounds.append([])
        rounds[r].append(i)
    return rounds


def assess_tables(
    tables: SnapshotTables,
    model: Artifact,
    *,
    graph: pa.Table | None,
    scored_at: datetime,
    policy: ReasonPolicy = DEFAULT_POLICY,
    on_features: Callable[[FeatureFrame], None] | None = None,
) -> list[Assessment]:
    """One assessment per account of ``tables`` (profiles order)."""
    judgement = judge(tables, model, graph=graph, policy=policy)
    if on_features is not None:
        on_features(judgement.frame)
    return to_assessments(judgement, tables, model, scored_at=scored_at)


def judge(
    tables: SnapshotTables,
    model: Artifact,
    *,
    graph: pa.Table | None,
    policy: ReasonPolicy = DEFAULT_POLICY,
    features: FeatureFrame | None = None,
) -> Judgement:
    """Features, prediction and every rule, as arrays over the accounts of ``tables``.

    ``graph``: ring-table rows (``features.graph.table``) covering these
    accounts, or None (global ring features then unknown).  ``features``:
    these accounts' frame computed earlier without a ring table (a batch run
    computes it while the rings are detected); its graph columns come from
    ``graph`` here.
    """
    if features is None:
        frame = compute_features(tables, audience_scorer=model.follower_model, graph=graph)
    else:
        accounts = tables.profiles.column("account_id").to_pylist()
        if features.account_ids.tolist() != accounts:
            raise ValueError("features: the frame's accounts are not the tables' accounts")
        frame = with_graph(features, graph)
    # Contributions only feed reasons, shown from ``min_probability``: a clean account
    # (most of them) skips TreeSHAP, its rows NaN ("not computed").
    prediction = model.predict(frame, contributions=CONTRIBUTIONS if policy.max_reasons > 0
                               else "none", explain_from=policy.min_probability)
    raw = _float_column(tables.profiles.column("raw_score"))
    confidence = judge_confidence(frame, has_raw_score=~np.isnan(raw))
    thin = confidence.insufficient
    level = _cap_level(prediction.level, thin)

    share = frame.column("audience_model_fake_share")
    low = frame.column("audience_model_fake_share_low")
    high = frame.column("audience_model_fake_share_high")
    ring_share = ring_engagement_share(
        np.where(frame.column("graph_ring_block_size") > 0,
                 frame.column("graph_ring_block_share"), 0.0),
        frame.context["engagement_ring_like_share"])
    audience = np.where(thin, 0.0, np.nan_to_num(low))
    engagement = np.where(thin, 0.0, inauthentic_engagement_shares(
        prediction.tactics["engagement_ring"], ring_share))
    adjusted = adjusted_scores(raw, inauthentic_audience=audience,
                               inauthentic_engagement=engagement)
    flag = level == "high"
    uncorrected = correction_notes(
        frame, prediction.tactics, inauthentic_audience=audience,
        inauthentic_engagement=engagement, flag=flag, has_score=np.nan_to_num(raw) > 0,
        insufficient=thin)
    confidence = replace(confidence, notes=[notes + extra for notes, extra
                                            in zip(confidence.notes, uncorrected, strict=True)])
    followers = _float_column(tables.profiles.column("followers_count"))
    contributions = (prediction.contributions if prediction.contributions is not None
                     else np.zeros_like(frame.values))
    has_bursts = np.nan_to_num(frame.context.get("growth_burst_days", np.zeros(len(frame)))) > 0
    return Judgement(
        frame=frame,
        prediction=prediction,
        raw_score=raw,
        adjusted_score=adjusted,
        inauthentic_audience=audience,
        inauthentic_engagement=engagement,
        level=level,
        flag=flag,
        fake_share=share,
        fake_share_low=low,
        fake_share_high=high,
        authentic=followers * (1 - share),
        authentic_low=followers * (1 - high),
        authentic_high=followers * (1 - low),
        confidence=confidence,
        reasons=rank_reasons(frame, contributions, prediction.risk, level, policy),
        burst_days=(burst_days(tables) if has_bursts.any()
                    else [np.zeros(0, "datetime64[D]")] * len(frame)),
    )


def to_assessments(judgement: Judgement, tables: SnapshotTables, model: Artifact, *,
                   scored_at: datetime) -> list[Assessment]:
    """The contract objects, one per account (fresh ``assessment_id`` each)."""
    profiles = tables.profiles
    account_ids = profiles.column("account_id").to_pylist()
    platforms = profiles.column("platform").to_pylist()
    ref = ModelRef(name=model.name, version=model.version)
    p = judgement.prediction
    out = []
    for i, account_id in enumerate(account_ids):
        raw = _optional(judgement.raw_score[i])
        out.append(Assessment(
            assessment_id=uuid.uuid4().hex,
            account_id=account_id,
            platform=platforms[i],
            scored_at=scored_at,
            raw_score=raw,
            adjusted_score=None if raw is None else float(judgement.adjusted_score[i]),
            risk=Risk(probability=_probability(p.risk[i]), level=judgement.level[i],
                      flag=bool(judgement.flag[i])),
            tactics=Tactics(**{t: _probability(p.tactics[t][i]) for t in TACTICS}),
            reasons=render_reasons(judgement.frame, judgement.reasons, i),
            authentic_reach=_reach(judgement, i),
            confidence=Confidence(level=judgement.confidence.level[i],
                                  notes=judgement.confidence.notes[i]),
            model=ref,
            evidence=_evidence(judgement.burst_days[i]),
        ))
    return out


def _cap_level(level: np.ndarray, insufficient: np.ndarray) -> np.ndarray:
    cap = LEVELS.index(INSUFFICIENT_LEVEL_CAP)
    rank = np.array([LEVELS.index(v) for v in level], dtype=np.int64)
    return np.asarray(LEVELS, dtype=object)[np.where(insufficient, np.minimum(rank, cap), rank)]


def _float_column(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)


def _optional(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _probability(value: float) -> float:
    return min(max(float(value), 0.0), 1.0)


def _reach(judgement: Judgement, i: int) -> AuthenticReach | None:
    if np.isnan(judgement.fake_share[i]) or np.isnan(judgement.authentic[i]):
        return None
    return AuthenticReach(
        followers=round(judgement.authentic[i]),
        followers_low=round(judgement.authentic_low[i]),
        followers_high=round(judgement.authentic_high[i]),
        fake_share=_probability(judgement.fake_share[i]),
        fake_share_low=_probability(judgement.fake_share_low[i]),
        fake_share_high=_probability(judgement.fake_share_high[i]),
    )


def _evidence(days: np.ndarray) -> Evidence:
    return Evidence(suspicious_days=[_EPOCH.fromordinal(_EPOCH.toordinal() + int(d))
                                     for d in days.astype(np.int64)])
