"""The notes that say why a likely tactic was not corrected for, without a model.

Each case builds the real feature frame of a small snapshot and sets the
shares the rule saw, so every branch of the wording is reached on purpose.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.factories import snapshot_dict
from trueclout.contract import AccountSnapshot
from trueclout.features.frame import FeatureFrame
from trueclout.features.pipeline import compute_features
from trueclout.service.scoring.corrections import (
    NO_TACTIC_NOTE,
    NOT_CORRECTED,
    correction_notes,
    is_correction_note,
)
from trueclout.service.trust.wording import forbidden_terms
from trueclout.tables import snapshots_to_tables

NONE = {"bought_followers": 0.01, "engagement_ring": 0.01, "growth_burst": 0.01}


def frame_of(doc: dict[str, Any], **features: float) -> FeatureFrame:
    frame = compute_features(snapshots_to_tables([AccountSnapshot.model_validate(doc)]))
    for name, value in features.items():
        frame.values[0, frame.names.index(name)] = value
    return frame


def notes(doc: dict[str, Any], tactics: dict[str, float], *, a: float = 0.0, e: float = 0.0,
          flag: bool = True, raw: bool = True, insufficient: bool = False,
          **features: float) -> list[str]:
    (row,) = correction_notes(
        frame_of(doc, **features), {t: np.array([p]) for t, p in {**NONE, **tactics}.items()},
        inauthentic_audience=np.array([a]), inauthentic_engagement=np.array([e]),
        flag=np.array([flag]), has_score=np.array([raw]),
        insufficient=np.array([insufficient]))
    for note in row:
        assert is_correction_note(note) and forbidden_terms(note) == []
    return row


def test_a_tactic_whose_share_was_discounted_needs_no_note() -> None:
    assert notes(snapshot_dict(), {"bought_followers": 0.9}, a=0.1) == []
    assert notes(snapshot_dict(), {"engagement_ring": 0.9}, e=0.2) == []
    assert notes(snapshot_dict(), {}, flag=False) == []


def test_without_a_follower_sample_the_note_says_what_to_send() -> None:
    (note,) = notes(snapshot_dict(followers=0), {"bought_followers": 0.9})
    assert note.startswith(f"{NOT_CORRECTED} for inauthentic followers: no follower sample")
    assert "Send a sample of its followers (100 or more, newest first)" in note


def test_a_sample_that_shows_nothing_beyond_doubt_asks_for_a_larger_one() -> None:
    (note,) = notes(snapshot_dict(followers=25), {"bought_followers": 0.9, "growth_burst": 0.7},
                    audience_model_fake_share=0.2, audience_model_fake_share_low=0.0)
    assert note.startswith(f"{NOT_CORRECTED} for inauthentic followers or followers that "
                           "arrived in sudden bursts: the sample of 25 followers does not show")
    assert "(100 or more followers, newest first, so that it includes" in note


def test_a_ring_without_reposts_or_ring_table_names_each_gap() -> None:
    doc = {**snapshot_dict(posts=5, engagements_per_post=3), "reposts_made": []}
    (note,) = notes(doc, {"engagement_ring": 0.95}, engagement_core_share=0.0)
    assert note.startswith(f"{NOT_CORRECTED} for coordinated engagement: no part of its "
                           "engagement could be tied to a ring or pod (")
    for part in ("none of its 15 sampled engagements arrived within 2 minutes of publication",
                 "no account engaged with 80% or more of its 5 engaged posts",
                 "its own reposts of others (reposts_made) were not given",
                 "rings across accounts were not looked up for it",
                 "Send its own reposts of others (reposts_made) to get a corrected score.",
                 "A ring table that covers this account"):
        assert part in note


def test_a_ring_on_too_few_posts_asks_for_engagements_on_more() -> None:
    doc = snapshot_dict(posts=2, engagements_per_post=3)
    (note,) = notes(doc, {"engagement_ring": 0.95}, engagement_reciprocity=0.0,
                    graph_ring_block_size=0.0)
    assert "only 2 posts had sampled engagements" in note
    assert "none of the accounts it reposted engaged with it" in note
    assert "the ring table puts it in no dense block" in note
    assert "Send engagements on 3 or more of its posts to get a corrected score." in note
    assert "A ring table that covers" not in note


def test_a_flag_no_tactic_backs_is_explained_only_without_a_discount() -> None:
    assert notes(snapshot_dict(), {}) == [NO_TACTIC_NOTE]
    assert notes(snapshot_dict(), {}, a=0.05) == []


@pytest.mark.parametrize("case", [{"raw": False}, {"insufficient": True}])
def test_no_notes_where_nothing_is_adjusted_anyway(case: dict[str, bool]) -> None:
    assert notes(snapshot_dict(followers=0), {"bought_followers": 0.9}, **case) == []


def test_a_ring_without_engagements_asks_for_them() -> None:
    doc = snapshot_dict(posts=3, engagements_per_post=0)
    (note,) = notes(doc, {"engagement_ring": 0.7}, engagement_core_share=np.nan,
                    engagement_reciprocity=np.nan)
    assert "no engagements (who engaged with which post, and when) were given" in note
    assert "Send engagements on 3 or more of its posts" in note


def test_every_likely_tactic_gets_its_own_note() -> None:
    doc = {**snapshot_dict(followers=0, posts=2), "reposts_made": []}
    row = notes(doc, {"bought_followers": 0.8, "engagement_ring": 0.8}, flag=False)
    assert [n.split(":")[0] for n in row] == [f"{NOT_CORRECTED} for inauthentic followers",
                                             f"{NOT_CORRECTED} for coordinated engagement"]
