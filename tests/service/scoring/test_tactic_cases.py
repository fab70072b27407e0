"""Tactics played the quiet way, scored with the shipped model: found, and their look-alikes not.

Each cheat is built from its mechanism (tests/features/builders.py): a churn
tool cycling small waves, a pod that waits hours but engages in rounds, a pod
whose members each come at their own moment of a window of hours (no round
at all), and a lot dripped over a month.  Each look-alike is what an honest account does
that resembles it: one follow spree, a loyal community engaging on its own
time, a month of growth its posts earned.
"""

from __future__ import annotations

import pytest

from tests.features.builders import (
    organic_account,
    with_churn,
    with_community,
    with_drip,
    with_following_event,
    with_pod,
    with_pod_rounds,
    with_takeoff,
)
from tests.service.model_support import shipped_model
from trueclout.assessment import Assessment
from trueclout.contract import AccountSnapshot
from trueclout.files import utc_now
from trueclout.service.scoring.assess import assess_snapshots

FOUND = ("high", "elevated")


def assess(doc: dict) -> Assessment:
    snapshot = AccountSnapshot.model_validate(doc)
    (assessment,) = assess_snapshots([snapshot], shipped_model(), graph=None,
                                     scored_at=utc_now())
    return assessment


def base(seed: int) -> dict:
    return organic_account(f"acct{seed}", seed, n_followers=0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_small_churn_waves_are_found_and_one_follow_spree_is_not(seed: int) -> None:
    churn = assess(with_churn(base(seed), wave_share=0.15, period=10))
    assert churn.risk.level in FOUND, churn.risk
    spree = assess(with_following_event(base(seed), share=0.6))
    assert spree.risk.level not in FOUND, spree.risk


# A pod that waits hours, then engages in rounds; and a pod with no round at all, where
# every member reposts every post at its own moment of the window and the account
# reposts them back (the pod's rule, with its timing spread as a community's is).
PODS = {"rounds": lambda doc, s, seed: with_pod_rounds(doc, round_s=s, seed=seed),
        "window": lambda doc, s, seed: with_pod(doc, within_s=s, seed=seed)}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("hours", [1, 3])
@pytest.mark.parametrize("pod_kind", sorted(PODS))
def test_a_pod_taking_hours_is_found_and_a_community_is_not_called_one(
        seed: int, hours: int, pod_kind: str) -> None:
    pod = assess(PODS[pod_kind](base(seed), hours * 3_600, seed))
    assert pod.risk.level in FOUND, pod.risk
    assert pod.tactics.engagement_ring >= 0.5
    community = assess(with_community(base(seed), spread_hours=10, seed=seed))
    # Not flagged and not called a pod.  (The overall model still puts such a tight,
    # loyal community at `elevated`: a known gap, in the closing note.)
    assert community.risk.level != "high" and not community.risk.flag, community.risk
    assert community.tactics.engagement_ring < 0.5


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_drip_is_found_and_growth_the_posts_earned_is_not(seed: int) -> None:
    drip = assess(with_drip(base(seed), bought=6_000, days=7))
    assert drip.risk.level in FOUND, drip.risk
    takeoff = assess(with_takeoff(base(seed), gained=6_000, days=7, seed=seed))
    assert takeoff.risk.level not in FOUND, takeoff.risk
    # Dripped over a month with no follower sample the lot still ranks far above the
    # growth its posts earned, though not yet at `elevated` (closing note of issue 14).
    month = assess(with_drip(base(seed), bought=6_000, days=30))
    earned = assess(with_takeoff(base(seed), gained=6_000, days=30, seed=seed))
    assert month.tactics.bought_followers > 10 * earned.tactics.bought_followers
    assert earned.risk.level not in FOUND, earned.risk
