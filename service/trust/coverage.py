"""What a trust check looked at and what it could not, from the snapshot and the model's notes.

A recruiter must be able to tell "nothing suspicious was found" from "nothing
could be looked at".  Each signal family needs its data: a follower sample for
the audience, a follower history for growth, posts with engagements for
coordination, the account's own reposts for reciprocity.  Missing data is
listed under "could not be checked" and never counts against the account.
"""

from __future__ import annotations

from dataclasses import dataclass

from trueclout.contract import AccountSnapshot
from trueclout.service.trust.format import human_count, human_date, plural
from trueclout.service.trust.wording import neutral_message

# Fewer days of history show recent bursts only, not the account's usual pace.
MIN_HISTORY_DAYS = 30
# Younger accounts are told that their age is no evidence against them.
NEW_ACCOUNT_DAYS = 90


@dataclass(frozen=True)
class Coverage:
    checked: list[str]
    not_checked: list[str]


def describe_coverage(snapshot: AccountSnapshot, confidence_notes: list[str]) -> Coverage:
    """Plain sentences, one per kind of data, in the order the page shows them."""
    checked: list[str] = [_profile_line(snapshot)]
    not_checked: list[str] = []

    def add(found: str | None, missing: str | None) -> None:
        if found:
            checked.append(found)
        if missing:
            not_checked.append(missing)

    add(*_audience(snapshot))
    add(*_growth(snapshot))
    add(*_engagement(snapshot))
    add(*_reciprocity(snapshot))
    for note in confidence_notes:
        line = neutral_message(note, "profile")
        if line not in not_checked:
            not_checked.append(line)
    return Coverage(checked, not_checked)


def _profile_line(snapshot: AccountSnapshot) -> str:
    profile = snapshot.profile
    age_days = max(0, (snapshot.observed_at - profile.created_at).days)
    line = (f"The profile: created {human_date(profile.created_at)}, "
            f"{plural(profile.followers_count, 'follower')}, "
            f"following {human_count(profile.following_count)}, "
            f"{plural(profile.posts_count, 'post')}.")
    if age_days < NEW_ACCOUNT_DAYS:
        line += (f" The account is new ({plural(age_days, 'day')} old when the data was read); "
                 "being new is not held against it.")
    return line


def _audience(snapshot: AccountSnapshot) -> tuple[str | None, str | None]:
    if snapshot.followers:
        return (f"A sample of {plural(len(snapshot.followers), 'follower')}, for traits common "
                "among mass-made accounts.", None)
    return None, ("No follower sample was given, so the share of inauthentic followers could "
                  "not be estimated.")


def _growth(snapshot: AccountSnapshot) -> tuple[str | None, str | None]:
    days = sorted(h.date for h in snapshot.follower_history)
    if len(days) < 2:
        return None, ("Fewer than two days of follower history were given, so follower growth "
                      "could not be checked for bursts.")
    span = (days[-1] - days[0]).days + 1
    found = (f"Follower counts on {plural(len(days), 'day')} "
             f"({human_date(days[0])} to {human_date(days[-1])}), for sudden bursts.")
    missing = None
    if span < MIN_HISTORY_DAYS:
        missing = (f"The follower history covers only {plural(span, 'day')}: growth before "
                   f"{human_date(days[0])} could not be seen.")
    return found, missing


def _engagement(snapshot: AccountSnapshot) -> tuple[str | None, str | None]:
    posts, engagements = len(snapshot.posts), len(snapshot.engagements)
    if engagements:
        return (f"{plural(engagements, 'engagement')} on {plural(posts, 'post')}, for "
                "coordination (the same accounts on every post, engaging within seconds).", None)
    if posts:
        return (f"{plural(posts, 'post')}.",
                "No engagements (who liked or reposted what) were given, so coordinated "
                "engagement could not be checked.")
    return None, ("No posts or engagements were given, so coordinated engagement could not be "
                  "checked.")


def _reciprocity(snapshot: AccountSnapshot) -> tuple[str | None, str | None]:
    if snapshot.reposts_made:
        return (f"{plural(len(snapshot.reposts_made), 'repost')} the account made of others, "
                "for reciprocal reposting.", None)
    return None, ("The account's own reposts of others were not given, so reciprocal reposting "
                  "(repost for repost) could not be checked.")
