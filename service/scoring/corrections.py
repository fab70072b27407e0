"""Why the adjusted score was not corrected for a tactic the model finds likely.

The adjusted score (``adjustment``) removes only shares measured from the data
sent: the follower sample's fake share for ``bought_followers`` and
``growth_burst``, the ring actors' share of engagement for
``engagement_ring``.  When the model finds a tactic likely (probability at
least ``TACTIC_PROBABILITY``, the level at which the trust page names it as a
signal) but its share is unknown or measured at 0, the score keeps that part.
Saying nothing would let a flagged account's adjusted score read as "nothing
was inauthentic", so each such tactic gets a note in ``confidence.notes``
naming what was missing or what was looked at and found nothing, and what to
send to get a corrected score.  A flag that no single tactic backs gets a
note too when nothing was discounted.

No notes when there is no raw score (their own note says there is no
adjusted score), a raw score of 0 (nothing to correct) or insufficient data
(its note says nothing is discounted).  Every note starts with
``NOT_CORRECTED`` (``is_correction_note``), so pages can show them beside the
scores rather than among the data that could not be checked.  They describe
what was measured in neutral words: pages show them verbatim.
"""

from __future__ import annotations

import numpy as np

from trueclout.features.families import engagement as E
from trueclout.features.families.rings import ROW_PRESENT_FEATURE
from trueclout.features.frame import FeatureFrame
from trueclout.service.scoring.adjustment import TACTIC_SHARES
from trueclout.service.scoring.confidence import FULL

TACTIC_PROBABILITY = 0.5
NOT_CORRECTED = "The score was not corrected"
# What each tactic inflates, in the neutral words of the trust page.
TACTIC_WORDS: dict[str, str] = {
    "bought_followers": "inauthentic followers",
    "growth_burst": "followers that arrived in sudden bursts",
    "engagement_ring": "coordinated engagement",
}
# The snapshot's ring-like engagement, in the engagement family's own terms.
_CORE_POSTS = E.MIN_POSTS_OVERLAP
_CORE_COVERAGE = f"{E.CORE_COVERAGE:.0%}"
_FAST = f"{E.FAST_SECONDS // 60} minutes"
NO_TACTIC_NOTE = (
    f"{NOT_CORRECTED}: the overall risk is high, but no single kind of manipulation "
    "(inauthentic followers, coordinated engagement, follower bursts) reached 50% probability, "
    "so which part of the score is inflated could not be told."
)


def is_correction_note(note: str) -> bool:
    """Whether ``note`` is one of this module's notes."""
    return note.startswith(NOT_CORRECTED)


def correction_notes(
    frame: FeatureFrame,
    tactics: dict[str, np.ndarray],
    *,
    inauthentic_audience: np.ndarray,
    inauthentic_engagement: np.ndarray,
    flag: np.ndarray,
    has_score: np.ndarray,
    insufficient: np.ndarray,
) -> list[list[str]]:
    """Per account, the notes on tactics found likely but not corrected for (often none).

    ``inauthentic_audience`` and ``inauthentic_engagement`` are the shares ``a``
    and ``e`` the adjusted score was computed with; ``has_score``: a raw score
    above 0, something to correct.
    """
    terms = {"audience": np.nan_to_num(inauthentic_audience) > 0,
             "engagement": np.nan_to_num(inauthentic_engagement) > 0}
    judged = has_score & ~insufficient
    likely = {t: np.nan_to_num(tactics[t]) >= TACTIC_PROBABILITY for t in TACTIC_SHARES}
    uncorrected = {t: likely[t] & ~terms[TACTIC_SHARES[t]] & judged for t in TACTIC_SHARES}
    unexplained = (flag & judged & ~np.logical_or.reduce(list(likely.values()))
                   & ~terms["audience"] & ~terms["engagement"])
    needs = np.logical_or.reduce([*uncorrected.values(), unexplained])
    notes: list[list[str]] = [[] for _ in range(len(frame))]
    for i in np.flatnonzero(needs):
        row = frame.row(int(i))
        features = row.as_dict()
        audience = [t for t in TACTIC_SHARES
                    if TACTIC_SHARES[t] == "audience" and uncorrected[t][i]]
        if audience:
            notes[i].append(_audience_note(audience, row.sufficiency["audience"],
                                           features["audience_model_fake_share"]))
        if uncorrected["engagement_ring"][i]:
            notes[i].append(_engagement_note(features, row.context))
        if unexplained[i]:
            notes[i].append(NO_TACTIC_NOTE)
    return notes


def _plural(n: float, word: str) -> str:
    count = int(n)
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def _audience_note(tactics: list[str], sample: float, share: float) -> str:
    """Bought followers and bursts rest on the follower sample's lower fake share."""
    subject = " or ".join(TACTIC_WORDS[t] for t in tactics)
    newest = (", newest first, so that it includes the followers from the bursts"
              if "growth_burst" in tactics else ", newest first")
    if sample <= 0:
        return (f"{NOT_CORRECTED} for {subject}: no follower sample was given, so the share of "
                "inauthentic followers in its audience could not be measured. Send a sample of "
                f"its followers ({FULL['audience']} or more{newest}) to get a corrected score.")
    if np.isnan(share):
        return (f"{NOT_CORRECTED} for {subject}: the model has no follower-level model, so the "
                f"sample of {_plural(sample, 'follower')} could not be judged and the share of "
                "inauthentic followers in its audience could not be measured.")
    larger = (f"{FULL['audience']} or more" if sample < FULL["audience"]
              else f"more than {int(sample):,}")
    return (f"{NOT_CORRECTED} for {subject}: the sample of {_plural(sample, 'follower')} does "
            "not show inauthentic followers beyond reasonable doubt (the lower end of their "
            "estimated share is 0%), and only that lower end is ever removed. A larger sample "
            f"({larger} followers{newest}) can show it.")


def _engagement_note(features: dict[str, float], context: dict[str, float]) -> str:
    """A ring discount rests on the ring table's block or the snapshot's ring-like engagement."""
    engagements = context.get("engagement_count", 0.0)
    posts = context.get("engagement_posts", 0.0)
    core, reciprocity = features["engagement_core_share"], features["engagement_reciprocity"]
    block_size = features["graph_ring_block_size"]
    found: list[str] = []
    send: list[str] = []
    if engagements <= 0:
        found.append("no engagements (who engaged with which post, and when) were given")
        send.append(f"engagements on {_CORE_POSTS} or more of its posts")
    else:
        found.append(f"none of its {_plural(engagements, 'sampled engagement')} arrived within "
                     f"{_FAST} of publication")
        if np.isnan(core):
            found.append(f"only {_plural(posts, 'post')} had sampled engagements, too few to "
                         f"find accounts that engage with nearly every post ({_CORE_POSTS} or "
                         "more needed)")
            send.append(f"engagements on {_CORE_POSTS} or more of its posts")
        else:
            found.append(f"no account engaged with {_CORE_COVERAGE} or more of its "
                         f"{_plural(posts, 'engaged post')}")
    if np.isnan(reciprocity):
        if context.get("reposts_made_count", 0.0) <= 0:
            found.append("its own reposts of others (reposts_made) were not given")
            send.append("its own reposts of others (reposts_made)")
    else:
        found.append("none of the accounts it reposted engaged with it")
    if np.isnan(block_size) and not np.isnan(features[ROW_PRESENT_FEATURE]):
        found.append("the ring table cannot tell a pod from a community here, its two-way "
                     "engagement being slow and at no common time")
    elif np.isnan(block_size):
        found.append("rings across accounts were not looked up for it")
    elif block_size <= 0:
        found.append("the ring table puts it in no dense block")
    else:
        found.append("none of its engagement came from its dense block in the ring table")
    if not send and engagements < FULL["engagement"]:
        send.append(f"more engagements ({FULL['engagement']} or more)")
    note = (f"{NOT_CORRECTED} for {TACTIC_WORDS['engagement_ring']}: no part of its engagement "
            f"could be tied to a ring or pod ({'; '.join(found)}).")
    if send:
        note += f" Send {' and '.join(send)} to get a corrected score."
    if np.isnan(block_size):
        note += (" A ring table that covers this account, built from many accounts' "
                 "engagement, can also measure it.")
    return note
