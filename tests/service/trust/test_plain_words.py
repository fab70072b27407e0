"""Recruiters read no detector or field names: every reason template and note, in plain words."""

from __future__ import annotations

import pytest

from trueclout.features.registry import FEATURE_NAMES, REGISTRY, render_reason, template_fields
from trueclout.service.scoring.confidence import UNJUDGED_RING_NOTE
from trueclout.service.trust.wording import jargon_terms, neutral_message

NOTES = (
    "Rings across accounts (dense blocks, lockstep groups, mutual-repost cores) were not looked "
    "up for this account: coordination was judged from this snapshot alone.",
    "x: no part of its engagement could be tied to a ring or pod (the ring table puts it in no "
    "dense block; its own reposts of others (reposts_made) were not given). A ring table that "
    "covers this account, built from many accounts' engagement, can also measure it.",
    "x: none of its engagement came from its dense block in the ring table; rings across "
    "accounts were not looked up for it.",
    UNJUDGED_RING_NOTE,
    "x: no part of its engagement could be tied to a ring or pod (the ring table cannot tell a "
    "pod from a community here, its two-way engagement being slow and at no common time).",
)


@pytest.mark.parametrize("name", [s.name for s in REGISTRY])
def test_every_reason_reads_in_plain_words(name: str) -> None:
    feature = next(s for s in REGISTRY if s.name == name)
    values = dict.fromkeys(FEATURE_NAMES, 0.4)
    context = {f: 12.0 for f, _ in template_fields(feature.reason_template)
               if f not in values}
    message = neutral_message(render_reason(name, values, context), feature.family)
    assert jargon_terms(message) == [], message


@pytest.mark.parametrize("note", NOTES)
def test_the_models_notes_read_in_plain_words(note: str) -> None:
    assert jargon_terms(neutral_message(note, "profile")) == []
