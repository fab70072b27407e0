"""Hypothesis strategies for valid AccountSnapshots (shared by contract, feature and API tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from trueclout.contract import AccountSnapshot

OBSERVED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EARLIEST = datetime(2012, 1, 1, tzinfo=UTC)

ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)
counts = st.integers(min_value=0, max_value=10**7)
opt_counts = st.none() | counts
# JSON cannot carry lone surrogates and the contract refuses NUL.
chars = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
text = st.text(alphabet=chars, max_size=40)
texts = st.none() | text
times = st.datetimes(
    min_value=EARLIEST.replace(tzinfo=None), max_value=OBSERVED.replace(tzinfo=None)
).map(lambda d: d.replace(tzinfo=UTC))


def profile_fields() -> dict:
    return {
        "username": st.text(alphabet=chars, min_size=1, max_size=20),
        "display_name": texts,
        "created_at": times,
        "followers_count": counts,
        "following_count": counts,
        "posts_count": counts,
        "listed_count": opt_counts,
        "likes_count": opt_counts,
        "verified": st.booleans(),
        "default_avatar": st.none() | st.booleans(),
        "bio": texts,
        "url": texts,
        "location": texts,
    }


profiles = st.fixed_dictionaries(profile_fields())
followers = st.fixed_dictionaries(
    {**profile_fields(), "account_id": ids, "followed_at": st.none() | times}
)


@st.composite
def snapshots(draw, max_items: int = 8) -> AccountSnapshot:
    """A valid snapshot with every list populated (or empty) at random."""
    n_posts = draw(st.integers(0, max_items))
    post_times = draw(st.lists(times, min_size=n_posts, max_size=n_posts))
    posts = [
        {
            "post_id": f"p{i}",
            "created_at": t,
            "kind": draw(st.sampled_from(["original", "repost", "reply", "quote"])),
            "reposts_count": draw(opt_counts),
            "likes_count": draw(opt_counts),
            "replies_count": draw(opt_counts),
        }
        for i, t in enumerate(post_times)
    ]
    engagements = []
    if posts:
        for _ in range(draw(st.integers(0, 3 * max_items))):
            p = draw(st.sampled_from(posts))
            lag = draw(st.integers(0, 10**6))
            at = min(p["created_at"] + timedelta(seconds=lag), OBSERVED)
            engagements.append({"actor_id": draw(ids), "post_id": p["post_id"],
                                "kind": draw(st.sampled_from(["repost", "like", "reply", "quote"])),
                                "at": at})
    days = draw(st.lists(st.integers(0, 2000), max_size=max_items, unique=True))
    history = [
        {"date": (OBSERVED - timedelta(days=d)).date(), "followers": draw(counts),
         "following": draw(opt_counts)}
        for d in days
    ]
    doc = {
        "account_id": draw(ids),
        "platform": draw(st.sampled_from(["twitter", "instagram", "youtube", "facebook", "other"])),
        "observed_at": OBSERVED,
        "raw_score": draw(st.none() | st.floats(0, 100, allow_nan=False)),
        "profile": draw(profiles),
        "follower_history": history,
        "followers": draw(st.lists(followers, max_size=max_items)),
        "posts": posts,
        "engagements": engagements,
        "reposts_made": draw(st.lists(st.fixed_dictionaries(
            {"target_account_id": ids, "post_id": st.none() | ids, "at": times}),
            max_size=max_items)),
    }
    return AccountSnapshot.model_validate(doc)
