"""Wording rules for everything a recruiter reads: signals are described, people never accused.

A trust check is read about a person who is not in the room.  Inauthentic
followers can be pushed onto an account by someone else to discredit it, and
an engagement group may include people who never asked to be in it, so
nothing a recruiter sees says "fraud", "cheat", "scam", "fake account",
"bought" or "purchased": it says "inauthentic followers present" and that
signals cannot show who caused them.

``neutral_message`` is applied to every reason message that reaches a report:
a message that passes is shown as the model wrote it (with the account's own
numbers); known words about buying are replaced by "inauthentic"; anything
else that still breaks the rules is replaced by a plain sentence for its
signal family.  ``forbidden_terms`` is what the tests scan every page and
JSON answer with.
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
    """``message`` as a recruiter may read it: unchanged when it describes signals only."""
    if not forbidden_terms(message):
        return message
    rewritten = message
    for pattern, replacement in _REPLACEMENTS:
        rewritten = pattern.sub(replacement, rewritten)
    if not forbidden_terms(rewritten):
        return rewritten
    return FAMILY_FALLBACK.get(family, "An unusual signal was found in the account's data.")
