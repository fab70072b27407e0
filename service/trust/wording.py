"""Wording rules for everything a recruiter reads: signals are described, people never accused.

A trust check is read about a person who is not in the room.  Inauthentic
followers can be pushed onto an account by someone else to discredit it, and
an engagement group may include people who never asked to be in it, so
nothing a recruiter sees says "fraud", "cheat", "scam", "fake account",
"bought" or "purchased": it says "inauthentic followers present" and that
signals cannot show who caused them.

A report is also read by people who never saw the model: the detectors' names
("dense blocks", "lockstep groups", "mutual-repost cores", "the ring table",
"the follower model") and the contract's field names mean nothing to them.
``PLAIN_WORDS`` rewrites each such phrase that the model's reasons and notes
use (``features/registry.py``, ``service/scoring``) into what it means, keeping
the numbers; ``jargon_terms`` is what the tests scan pages with.  The
platform-facing ``/v1/score`` answer keeps the model's own words, and a
trust report's ``confidence.notes`` carry the plain ones: the same facts,
never other facts.

``neutral_message`` is applied to every reason message and note that reaches
a report: plain words first; a message that then passes is shown (with the
account's own numbers); known words about buying are replaced by
"inauthentic"; anything else that still breaks the rules is replaced by a
plain sentence for its signal family.  ``forbidden_terms`` is what the tests
scan every page and JSON answer with.
"""

from __future__ import annotations

import re

# Whole words only, case-insensitive.  Underscores count as word characters,
# so machine codes such as ``FAKE_AUDIENCE_SHARE`` are not words here.
FORBIDDEN = re.compile(
    r"\b(fraud[a-z]*|cheat[a-z]*|scam[a-z]*|fake|fakes|faked|bought|buy|buys|buying|buyer[a-z]*"
    r"|purchas[a-z]*|liars?|dishonest[a-z]*|deceiv[a-z]*|deceit[a-z]*|sockpuppet[a-z]*)\b",
    re.IGNORECASE,
)

# Replacements that keep the model's sentence (and its numbers) intact.
_REPLACEMENTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:look|looks|looked|appear|appears|seem|seems) (?:purchased|bought|fake)\b",
                re.IGNORECASE), "look inauthentic"),
    (re.compile(r"\b(?:purchased|bought|fake) (followers|accounts|audience|engagement)\b",
                re.IGNORECASE), r"inauthentic \1"),
    (re.compile(r"\b(?:purchased|bought|fake)\b", re.IGNORECASE), "inauthentic"),
)

# Detector and contract names, as the model's reasons and notes write them, in plain words.
# Applied in order, so longer phrases come before the words they contain.
_GROUP = "accounts that boost each other's posts"
PLAIN_WORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), replacement) for pattern, replacement in (
        (r"Rings across accounts \(dense blocks, lockstep groups, mutual-repost cores\) were "
         r"not looked up for this account: coordination was judged from this snapshot alone",
         f"Groups of {_GROUP} (found by comparing many accounts) were not looked up for this "
         "account: coordinated engagement was judged from this account's own data only"),
        (r"The ring table covers this account but cannot tell",
         "Comparing this account with many others could not tell"),
        (r"the ring table cannot tell a pod from a community here",
         f"comparing it with other accounts could not tell {_GROUP} from a group of friends"),
        (r"rings across accounts were not looked up for it",
         f"it was not compared with other accounts to find groups of {_GROUP}"),
        (r"A ring table that covers this account, built from many accounts' engagement, can "
         r"also measure it",
         "Comparing its engagement with that of many other accounts can also measure it"),
        (r"the ring table puts it in no dense block",
         f"it belongs to no group of {_GROUP}"),
        (r"none of its engagement came from its dense block in the ring table",
         f"none of its engagement came from the group of {_GROUP} that it belongs to"),
        (r"could be tied to a ring or pod", "could be tied to a group of accounts that engage "
         "together"),
        (r"sits in a dense block of ([\d,]+) accounts that amplify each other",
         r"is one of \1 " + _GROUP + " far more than usual"),
        (r"from a dense block of ([\d,]+) accounts that amplify each other",
         r"from a group of \1 " + _GROUP + " far more than usual"),
        (r"In its block of ([\d,]+) accounts, (\S+) of all possible member pairs engage each "
         r"other", r"In its group of \1 accounts, \2 of all possible pairs engage with each "
         "other"),
        (r"moves in lockstep with a group of ([\d,]+) accounts",
         r"is one of a group of \1 accounts"),
        (r"another member of a lockstep group of ([\d,]+) accounts",
         r"another account of a group of \1 accounts that engage together"),
        (r"is part of a core of ([\d,]+) accounts that repost each other",
         r"is one of a group of \1 accounts that all repost each other"),
        (r"The follower model and the creation-batch fingerprint estimate that",
         "Judging each sampled follower, and the days their accounts were created, the check "
         "estimates that"),
        (r" to the follower model and the creation-batch fingerprint", ""),
        (r"the model has no follower-level model, so",
         "this check cannot judge individual followers, so"),
        (r"new followers on days its posts also cover",
         "new followers it gained over the days its posts span"),
        (r" \(median character entropy [\d.,]+ bits\)", ""),
        (r" \(reposts_made\)", ""),
        (r"\braw_score\b", "score"),
    ))

# What ``PLAIN_WORDS`` leaves no trace of on a page (whole words, case-insensitive).
JARGON = re.compile(
    r"\b(dense blocks?|lockstep|mutual-repost|ring table|follower(?:-level)? model"
    r"|creation-batch|posts also cover|entropy|reposts_made|raw_score|k-core|FRAUDAR"
    r"|CopyCatch|robust z)\b", re.IGNORECASE)


def plain_words(text: str) -> str:
    """``text`` with the detectors' and the contract's names in plain words."""
    for pattern, replacement in PLAIN_WORDS:
        text = pattern.sub(replacement, text)
    return text


def jargon_terms(text: str) -> list[str]:
    """The model's or contract's names still in ``text`` (empty when a recruiter can read it)."""
    return [m.group(0) for m in JARGON.finditer(text)]


FAMILY_FALLBACK: dict[str, str] = {
    "audience": "Part of the sampled followers shows traits common among inauthentic accounts.",
    "growth": "Followers arrived in sudden bursts unlike the account's usual growth.",
    "engagement": "Engagement came in a pattern typical of tightly coordinated groups.",
    "profile": "The profile's figures are unusual for an account with this score.",
}

WHO_CAUSED_IT = (
    "Signals cannot show who caused them: inauthentic followers can be added to an "
    "account by someone else, for example to discredit it."
)
WHO_COORDINATED = (
    "Signals cannot show who organised coordinated engagement: a group of accounts can engage "
    "together on someone's posts without that person asking, and a group can include people "
    "who never agreed to take part."
)
WHO_CAUSED_SIGNALS = "Signals cannot show who caused them, or why."


def forbidden_terms(text: str) -> list[str]:
    """The forbidden words in ``text`` (empty when it may be shown to a recruiter)."""
    return [m.group(0) for m in FORBIDDEN.finditer(text)]


def neutral_message(message: str, family: str) -> str:
    """``message`` as a recruiter may read it: in plain words, describing signals only."""
    message = plain_words(message)
    if not forbidden_terms(message):
        return message
    rewritten = message
    for pattern, replacement in _REPLACEMENTS:
        rewritten = pattern.sub(replacement, rewritten)
    if not forbidden_terms(rewritten):
        return rewritten
    return FAMILY_FALLBACK.get(family, "An unusual signal was found in the account's data.")
