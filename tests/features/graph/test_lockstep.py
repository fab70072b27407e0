"""Lockstep groups: coordinated actors are grouped; fans, communities and viral crowds are not."""

from __future__ import annotations

import numpy as np

from trueclout.features.graph.build import EngagementEdges, edges_from_arrays
from trueclout.features.graph.lockstep import LockstepParams, find_lockstep_groups

HOUR = 3600


class Rows:
    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.rows: list[tuple[str, str, str, int]] = []
        self.published: dict[str, int] = {}

    def hit(self, actor: str, author: str, post: str, at: float) -> None:
        self.rows.append((actor, author, post, int(at)))

    def post(self, post: str, at: float) -> None:
        """Say when ``post`` was published (else its first engagement stands in)."""
        self.published[post] = int(at)

    def edges(self) -> EngagementEdges:
        actor, target, post, at = (list(c) for c in zip(*self.rows, strict=True))
        created = ([self.published.get(p, np.nan) for p in post] if self.published else None)
        return edges_from_arrays(actor, target, post, at, ["like"] * len(actor),
                                 post_created=created)


def members_engaging_each_other(r: Rows, members: list[str], posts_each: int,
                                delays: object) -> None:
    """Every member engages every other member's posts; ``delays(k)`` gives the k delays
    (seconds after publication) of the other members on one post."""
    for m_i, author in enumerate(members):
        for p in range(posts_each):
            published = (m_i * posts_each + p) * 24 * HOUR
            name = f"{author}/{p}"
            r.post(name, published)
            others = [a for a in members if a != author]
            for actor, delay in zip(others, delays(len(others)), strict=True):
                r.hit(actor, author, name, published + delay)


def groups(edges: EngagementEdges, params: LockstepParams | None = None) -> list[set[str]]:
    found = find_lockstep_groups(edges, params)
    names = np.array(edges.accounts.to_pylist())
    return [set(names[found.label == g]) for g in range(found.count)]


def bots(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:02d}" for i in range(n)]


def test_actors_hitting_the_same_posts_together_form_one_group() -> None:
    r = Rows(1)
    farm = bots("bot", 6)
    for k in range(8):  # eight posts of three customers, each hit by the farm within 2 minutes
        start = k * 5 * HOUR
        for b in farm:
            r.hit(b, f"customer{k % 3}", f"post{k}", start + r.rng.uniform(0, 120))
    found = find_lockstep_groups(r.edges())
    names = np.array(r.edges().accounts.to_pylist())
    assert groups(r.edges()) == [set(farm)]
    members = np.isin(names, farm)
    assert (found.size[members] == 6).all() and (found.size[~members] == 0).all()
    assert np.allclose(found.score[members], 1.0)


def test_score_is_the_share_of_posts_hit_in_step() -> None:
    r = Rows(2)
    farm = bots("bot", 5)
    for k in range(6):
        for b in farm:
            r.hit(b, "customer", f"post{k}", k * 5 * HOUR + r.rng.uniform(0, 60))
    # One member also engages six posts elsewhere, alone: half its posts are in step.
    for k in range(6):
        r.hit(farm[0], "elsewhere", f"other{k}", k * 7 * HOUR)
    found = find_lockstep_groups(r.edges())
    names = r.edges().accounts.to_pylist()
    assert found.score[names.index(farm[0])] == 0.5
    assert found.score[names.index(farm[1])] == 1.0


def test_community_engaging_every_post_over_hours_is_not_lockstep() -> None:
    r = Rows(3)
    friends = bots("friend", 15)
    for m_i, author in enumerate(friends):
        for p in range(6):
            published = (m_i * 6 + p) * 24 * HOUR
            for actor in friends:
                if actor != author:
                    r.hit(actor, author, f"{author}/{p}", published + r.rng.uniform(0, 6 * HOUR))
    assert groups(r.edges()) == []


def test_a_community_returning_hours_later_each_on_its_own_time_is_not_lockstep() -> None:
    """The same timing in the mean (a few hours after the post), but each friend comes on
    their own time: no round, however often two of them land within a factor of two."""
    r = Rows(9)
    friends = bots("friend", 20)
    members_engaging_each_other(r, friends, 4,
                                lambda k: r.rng.lognormal(np.log(2.5 * HOUR), 1.3, k))
    assert groups(r.edges()) == []


def test_loyal_fans_of_one_account_are_not_lockstep() -> None:
    """Fans with quick but independent delays share minutes now and then, not mostly."""
    r = Rows(4)
    fans = bots("fan", 60)
    for p in range(40):
        published = p * 24 * HOUR
        for fan in fans:
            if r.rng.random() < 0.8:
                r.hit(fan, "idol", f"idol/{p}", published + r.rng.lognormal(np.log(1800), 1.2))
    assert groups(r.edges()) == []


def test_a_viral_moment_does_not_make_a_group() -> None:
    r = Rows(5)
    crowd = bots("crowd", 500)
    for p in range(4):  # the same 500 accounts pile onto four viral posts within a minute
        for c in crowd:
            r.hit(c, "viral", f"viral/{p}", p * 24 * HOUR + r.rng.uniform(0, 60))
    assert groups(r.edges(), LockstepParams(max_bucket_actors=100)) == []


def test_an_actor_in_step_with_a_few_members_of_two_groups_does_not_merge_them() -> None:
    r = Rows(6)
    left, right = bots("left", 6), bots("right", 6)
    for k in range(6):
        for b in left:
            r.hit(b, "customerA", f"a{k}", k * 5 * HOUR + r.rng.uniform(0, 60))
        for b in right:
            r.hit(b, "customerB", f"b{k}", k * 5 * HOUR + 2 * HOUR + r.rng.uniform(0, 60))
    # A bridge keeps step with two members of each farm, on three other posts each.
    for k in range(3):
        for actor in ("bridge", left[0], left[1]):
            r.hit(actor, "shopA", f"x{k}", k * 9 * HOUR + 20)
        for actor in ("bridge", right[0], right[1]):
            r.hit(actor, "shopB", f"y{k}", k * 9 * HOUR + 4 * HOUR + 20)
    assert sorted(groups(r.edges()), key=sorted) == [set(left), set(right)]


def test_rarely_synchronised_pairs_need_enough_shared_posts() -> None:
    r = Rows(7)
    farm = bots("bot", 5)
    for k in range(2):  # together on only two posts
        for b in farm:
            r.hit(b, "customer", f"post{k}", k * 5 * HOUR + r.rng.uniform(0, 60))
    assert groups(r.edges(), LockstepParams(min_shared_posts=3)) == []
    assert groups(r.edges(), LockstepParams(min_shared_posts=2)) == [set(farm)]


def test_no_posts_no_groups() -> None:
    edges = edges_from_arrays(["a", "b"], ["c", "c"], [None, None], [0, 10])
    found = find_lockstep_groups(edges)
    assert found.count == 0
    assert (found.size == 0).all() and (found.score == 0).all()


def late_rounds(r: Rows, start_hours: float, jitter: float) -> object:
    """Delays of a pod called late: one start per post, each member spread around it."""
    def delays(k: int) -> np.ndarray:
        start = r.rng.lognormal(np.log(start_hours * HOUR), 0.5)
        return start * r.rng.lognormal(0.0, jitter, k)
    return delays


def test_a_pod_whose_rounds_come_hours_late_is_found() -> None:
    """Members called to each post hours after it, loosely (no two within minutes):
    a pod by its rounds and by serving its own members, not by speed."""
    r = Rows(10)
    pod = bots("pod", 12)
    members_engaging_each_other(r, pod, 4, late_rounds(r, 3.0, 0.8))
    assert groups(r.edges()) == [set(pod)]
    assert groups(r.edges(), LockstepParams(late_rounds=False)) == []
    found = find_lockstep_groups(r.edges())
    assert (found.size[found.label >= 0] == 12).all()
    assert (found.score[found.label >= 0] > 0).all()


def test_a_small_late_pod_is_found_and_a_small_late_community_is_not() -> None:
    r = Rows(11)
    members_engaging_each_other(r, bots("pod", 5), 6, late_rounds(r, 2.0, 0.5))
    members_engaging_each_other(r, bots("friend", 5), 6,
                                lambda k: r.rng.lognormal(np.log(2.5 * HOUR), 1.3, k))
    assert groups(r.edges()) == [set(bots("pod", 5))]


def test_late_retweeters_of_one_account_in_rounds_are_not_a_pod() -> None:
    """A cascade: followers retweet a popular account together, late, post after post.
    They serve an account outside their group and never each other: not a pod."""
    r = Rows(12)
    followers = bots("follower", 15)
    delays = late_rounds(r, 3.0, 0.3)
    for p in range(20):
        published = p * 24 * HOUR
        r.post(f"star/{p}", published)
        for actor, delay in zip(followers, delays(len(followers)), strict=True):
            r.hit(actor, "star", f"star/{p}", published + delay)
    assert groups(r.edges()) == []


def test_a_late_community_of_many_posts_is_not_a_pod() -> None:
    """Friends who engage each other for months, each on their own time: many posts make
    chance rounds rarer, not likelier."""
    r = Rows(13)
    friends = bots("friend", 10)
    members_engaging_each_other(r, friends, 20,
                                lambda k: r.rng.lognormal(np.log(3 * HOUR), 1.0, k))
    assert groups(r.edges()) == []
