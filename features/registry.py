"""The feature registry: every signal registered once, in the order models see it.

Each ``FeatureSpec`` names a feature, its family, unit and meaning, the
direction in which it raises risk, and the plain-language reason shown when it
drives a decision, filled with the account's own numbers.  The registry is
the single source for the models' feature order (``FEATURE_NAMES``,
``REGISTRY_VERSION``), for reason messages (``render_reason``) and for the
feature reference in ``docs/features.md``::

    trueclout dev feature-docs            # --check only compares

Reasons describe signals, never people: "followers arrived in a burst", not
"bought followers".  New features are appended within their family; the
global graph features stay last so they can grow without reordering the rest.
"""

from __future__ import annotations

import hashlib
import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from trueclout.features.families import engagement as E
from trueclout.features.families import fingerprints as A
from trueclout.features.families import growth as G
from trueclout.features.families import lots as L
from trueclout.features.humanize import FORMATTERS

FAMILIES: tuple[str, ...] = ("audience", "growth", "engagement", "profile")

FAMILY_DESCRIPTIONS: dict[str, str] = {
    "audience": "fingerprints of inauthentic-looking followers in the follower sample",
    "growth": "bursts, purges and churn in the daily follower history",
    "engagement": "concentration, overlap, synchrony and reciprocity of engagement",
    "profile": "the account's own age, ratios, activity and completeness",
}

# What each family's data-sufficiency number counts.
SUFFICIENCY_UNITS: dict[str, str] = {
    "audience": "sampled followers",
    "growth": "real (not interpolated) daily history observations in the window",
    "engagement": "sampled engagements",
    "profile": "profiles (always 1: the profile is required)",
}


@dataclass(frozen=True)
class FeatureSpec:
    """One registered feature.

    ``risk_direction`` is +1 when higher values raise manipulation risk and -1
    when lower values do.  ``reason_template`` is a sentence whose
    ``{name:kind}`` fields name a feature or a context number and how to write
    it (kinds: count, pct, num, days, duration, times).
    """

    name: str
    family: str
    unit: str
    description: str
    risk_direction: int
    reason_code: str
    reason_template: str

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"{self.name}: unknown family {self.family!r}")
        if self.risk_direction not in (1, -1):
            raise ValueError(f"{self.name}: risk_direction must be +1 or -1")
        for field_name, kind in template_fields(self.reason_template):
            if kind not in FORMATTERS:
                raise ValueError(f"{self.name}: unknown format {kind!r} for {field_name!r}")

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(name for name, _ in template_fields(self.reason_template))


def template_fields(template: str) -> list[tuple[str, str]]:
    """The ``(name, kind)`` pairs a reason template refers to."""
    return [
        (name, spec or "num")
        for _, name, spec, _ in string.Formatter().parse(template)
        if name is not None
    ]


def _f(name: str, family: str, unit: str, description: str, direction: int, code: str,
       template: str) -> FeatureSpec:
    return FeatureSpec(name, family, unit, description, direction, code, template)


_SHARE = "share (0-1)"

_AUDIENCE: list[FeatureSpec] = [
    _f("audience_crude_fake_share", "audience", _SHARE,
       f"Share of sampled followers with at least {A.CRUDE_MIN_TRAITS} crude fingerprints of "
       "mass-made accounts (default picture, empty bio, under "
       f"{A.INACTIVE_POSTS} posts, following {A.FOLLOW_HEAVY_RATIO:g}x more accounts than follow "
       f"them, under {A.YOUNG_AT_FOLLOW_DAYS} days old when following, a run of "
       f"{A.DIGIT_RUN}+ digits in the username), among followers with at least "
       f"{A.CRUDE_MIN_KNOWN} of them known.",
       1, "FAKE_AUDIENCE_SHARE",
       "{audience_crude_fake_share:pct} of {audience_crude_known:count} sampled followers show "
       "several traits of mass-made accounts (95% interval {audience_crude_fake_share_low:pct} to "
       "{audience_crude_fake_share_high:pct})."),
    _f("audience_default_avatar_share", "audience", _SHARE,
       "Share of sampled followers still showing the platform's default picture.",
       1, "FAKE_PROFILE_TRAITS",
       "{audience_default_avatar_share:pct} of sampled followers still show the platform's "
       "default profile picture."),
    _f("audience_empty_bio_share", "audience", _SHARE,
       "Share of sampled followers whose bio is empty.",
       1, "FAKE_PROFILE_TRAITS",
       "{audience_empty_bio_share:pct} of sampled followers have an empty bio."),
    _f("audience_inactive_share", "audience", _SHARE,
       f"Share of sampled followers with fewer than {A.INACTIVE_POSTS} posts.",
       1, "FAKE_PROFILE_TRAITS",
       "{audience_inactive_share:pct} of sampled followers have posted fewer than "
       f"{A.INACTIVE_POSTS} times."),
    _f("audience_follow_heavy_share", "audience", _SHARE,
       f"Share of sampled followers that follow at least {A.FOLLOW_HEAVY_RATIO:g} times more "
       "accounts than follow them.",
       1, "FAKE_PROFILE_TRAITS",
       "{audience_follow_heavy_share:pct} of sampled followers follow at least "
       f"{A.FOLLOW_HEAVY_RATIO:g} times more accounts than follow them back."),
    _f("audience_median_age_days", "audience", "days",
       "Median age of the sampled followers' accounts at observation.",
       -1, "FAKE_PROFILE_TRAITS",
       "Half of the sampled followers' accounts are younger than "
       "{audience_median_age_days:days}."),
    _f("audience_young_at_follow_share", "audience", _SHARE,
       f"Share of followers with a known follow date whose account was under "
       f"{A.YOUNG_AT_FOLLOW_DAYS} days old when it followed.",
       1, "FAKE_PROFILE_TRAITS",
       "{audience_young_at_follow_share:pct} of followers with a known follow date were under "
       f"{A.YOUNG_AT_FOLLOW_DAYS} days old when they followed."),
    _f("audience_digit_username_share", "audience", _SHARE,
       f"Share of sampled followers whose username holds a run of {A.DIGIT_RUN}+ digits.",
       1, "FOLLOWER_NAME_PATTERNS",
       "{audience_digit_username_share:pct} of sampled followers have usernames with a run of "
       f"{A.DIGIT_RUN} or more digits."),
    _f("audience_username_entropy", "audience", "bits per character",
       "Median character entropy of the sampled followers' usernames; generated names are "
       "near-random.",
       1, "FOLLOWER_NAME_PATTERNS",
       "Sampled followers' usernames look generated (median character entropy "
       "{audience_username_entropy:num} bits)."),
    _f("audience_template_share", "audience", _SHARE,
       "Share of sampled followers whose username pattern (digit runs collapsed), display-name "
       f"pattern or bio repeats in at least {A.TEMPLATE_MIN_REPEATS} sampled followers of the "
       "account (at least 1% of the sample for large samples).",
       1, "FOLLOWER_NAME_PATTERNS",
       "{audience_template_share:pct} of sampled followers share a username, name or bio "
       "pattern with other sampled followers."),
    _f("audience_creation_cluster_share", "audience", _SHARE,
       "Share of sampled followers created on a day when implausibly many other sampled "
       "followers were created too (more than a Poisson baseline over ten years allows).",
       1, "FOLLOWER_CREATION_CLUSTER",
       "{audience_creation_cluster_share:pct} of sampled followers' accounts were created on "
       "the same few days."),
    _f("audience_model_fake_share", "audience", _SHARE,
       "Fake share of the whole audience: the larger of the follower-level model's estimate "
       "and the creation-batch share (audience_lot_share, a lower bound that holds even for "
       "follower markets the model never met); NaN without a follower model.",
       1, "FAKE_AUDIENCE_SHARE",
       "The follower model and the creation-batch fingerprint estimate that "
       "{audience_model_fake_share:pct} of the audience, about "
       "{audience_model_fake_followers:count} of {followers_count:count} followers, looks "
       "inauthentic (95% interval {audience_model_fake_share_low:pct} to "
       "{audience_model_fake_share_high:pct})."),
    _f("audience_model_fake_share_low", "audience", _SHARE,
       "Lower bound of the fake-share interval: the follower model's 95% bound (a "
       "creation-batch share above the model's estimate never lowers it).",
       1, "FAKE_AUDIENCE_SHARE",
       "At least {audience_model_fake_share_low:pct} of the audience looks inauthentic to the "
       "follower model and the creation-batch fingerprint (95% interval)."),
    _f("audience_model_fake_share_high", "audience", _SHARE,
       "Upper bound of the fake-share interval: the follower model's 95% bound, or where the "
       "creation-batch share exceeds the model's estimate the higher of both upper bounds.",
       1, "FAKE_AUDIENCE_SHARE",
       "Up to {audience_model_fake_share_high:pct} of the audience looks inauthentic to the "
       "follower model and the creation-batch fingerprint (95% interval)."),
    _f("audience_lot_share", "audience", _SHARE,
       "Share of the sampled followers with a known creation date whose accounts were created "
       "in short batches: creation weeks far more crowded than the sample's own creation dates "
       f"around them predict (a Poisson tail below {L.LOT_P:g} spread over the weeks the "
       "sample spans), counting only the batches' excess over that expectation, so an organic "
       f"audience reads about 0; NaN below {L.LOT_MIN_DATED} dated followers.",
       1, "FOLLOWER_CREATION_CLUSTER",
       "{audience_lot_share:pct} of {audience_lot_dated:count} sampled followers' accounts were "
       "created in short batches, beyond what the sample's spread of creation dates explains "
       "(95% interval {audience_lot_share_low:pct} to {audience_lot_share_high:pct}; batches "
       "found: {audience_lot_count:count}, the largest holding {audience_largest_lot_share:pct} "
       "of the sample)."),
]

_GROWTH: list[FeatureSpec] = [
    _f("growth_burst_score", "growth", "log(1 + robust z)",
       "How far the largest one-day follower gain stands above the account's usual daily "
       "gains: robust z (median/MAD of daily deltas, with a count-noise floor), log-scaled.",
       1, "FOLLOWER_BURST",
       "The largest one-day gain, {growth_max_gain:count} followers, was "
       "{growth_burst_z:times} the account's usual day-to-day variation."),
    _f("growth_burst_share", "growth", _SHARE,
       f"Share of all follower gains in the window that arrived on burst days (robust z >= "
       f"{G.BURST_Z:g}, at most {G.MAX_BURST_DAYS} days).",
       1, "FOLLOWER_BURST",
       "{growth_burst_share:pct} of this account's {growth_total_gain:count} new followers "
       "arrived in a burst of {growth_burst_days:days}."),
    _f("growth_top_days_share", "growth", _SHARE,
       f"Share of all follower gains in the window that arrived on the {G.TOP_DAYS} busiest "
       "days.",
       1, "FOLLOWER_BURST",
       "{growth_top_days_share:pct} of this account's {growth_total_gain:count} new followers "
       "over {growth_history_days:days} arrived on its busiest {growth_top_days:days}."),
    _f("growth_max_jump", "growth", "log10(1 + relative gain)",
       "Largest one-day gain relative to the followers the day before (a step change), "
       "log-scaled.",
       1, "FOLLOWER_BURST",
       "In a single day the follower count grew by {growth_max_jump_share:pct}."),
    _f("growth_engagement_mismatch", "growth", "share difference (-1 to 1)",
       "Share of follower gains on burst days minus the share of engagement drawn by posts of "
       "those days (and the day before), over the days both histories cover. A viral post "
       "brings both; a burst with no matching engagement does not. 0 when there is no burst.",
       1, "GROWTH_ENGAGEMENT_MISMATCH",
       "Of the {growth_covered_gain:count} new followers on days its posts also cover, "
       "{growth_burst_followers_share:pct} arrived in {growth_covered_burst_days:days}, while "
       "posts from those days drew {growth_burst_engagement_share:pct} of its engagement."),
    _f("growth_window_mismatch", "growth", "share difference (-1 to 1)",
       "The fastest stretch of growth against its engagement: for stretches of "
       f"{' and '.join(str(w) for w in G.WINDOW_SCALES)} days, the share of new followers "
       "gained in the stretch with the most, minus the share of engagement drawn by posts of "
       "those days; the larger over the scales (needs a history twice the stretch). Growth "
       "the posts earned moves both; a lot delivered however slowly moves only the first.",
       1, "GROWTH_ENGAGEMENT_MISMATCH",
       "In its fastest {growth_window_days:days} the account gained "
       "{growth_window_followers_share:pct} of its new followers, while its posts from those "
       "days drew {growth_window_engagement_share:pct} of its engagement."),
    _f("growth_post_burst_drop", "growth", _SHARE,
       f"Share of the largest one-day gain lost again within {G.PURGE_WINDOW_DAYS} days "
       "(platform purges remove inauthentic followers).",
       1, "FOLLOWER_PURGE",
       "After its largest one-day gain, the account lost {growth_post_burst_drop:pct} of those "
       f"followers within {G.PURGE_WINDOW_DAYS} days."),
    _f("growth_drop_score", "growth", "log(1 + robust z)",
       "The largest one-day follower loss (a fall in the count, never a slow day of "
       "growth) in units of the account's usual day-to-day variation, log-scaled; 0 when "
       "the count never fell.",
       1, "FOLLOWER_PURGE",
       "On one day the account lost {growth_max_loss:count} followers, "
       "{growth_drop_z:times} its usual day-to-day variation."),
    _f("growth_following_reversals", "growth", "reversals per 30 days",
       "Follow/unfollow waves: how often the following count turns from a rise to a fall or "
       f"back, counting only moves of at least {G.REVERSAL_FLOOR:g} accounts or "
       f"{G.REVERSAL_SHARE:.0%} of the following count, per 30 days. A churn tool cycles "
       "wave after wave whatever their size; a follow spree or a clean-up moves once.",
       1, "FOLLOW_CHURN",
       "Its following count rose and fell {growth_following_swings:count} times over "
       "{growth_following_days:days}."),
    _f("growth_following_cycles", "growth", "cycles",
       f"Follow/unfollow cycles: rises of the following count that the next fall takes back "
       f"({G.UNDONE_SHARE[0]:.0%}-{G.UNDONE_SHARE[1]:.0%} of the rise), counting only moves of "
       f"at least {G.REVERSAL_FLOOR:g} accounts or {G.REVERSAL_SHARE:.0%} of the following "
       "count; a count, so a longer history is more evidence. A churn tool unfollows most of "
       "whom it followed, wave after wave, whatever the size of its waves; a follow spree "
       "and a later clean-up seldom match. (How much it cycled is not a feature: the size "
       "of the waves is the tool's setting, and a model that learned one range of it read "
       "smaller waves as innocence.)",
       1, "FOLLOW_CHURN",
       "Its following count rose and then fell back by about as much "
       "{growth_following_cycles:count} times over {growth_following_days:days} (about "
       "{growth_following_churned:count} accounts followed and later unfollowed)."),
]

_ENGAGEMENT: list[FeatureSpec] = [
    _f("engagement_top_actor_share", "engagement", _SHARE,
       f"Share of sampled engagements made by the most active "
       f"{E.TOP_ACTOR_FRACTION:.0%} of engaging accounts.",
       1, "ENGAGEMENT_CONCENTRATION",
       "The most active {engagement_top_actors:count} of {engagement_actors:count} engaging "
       "accounts made {engagement_top_actor_share:pct} of its sampled engagement."),
    _f("engagement_actor_hhi", "engagement", "index (0-1)",
       "Herfindahl index of engagement over engaging accounts (sum of squared shares).",
       1, "ENGAGEMENT_CONCENTRATION",
       "Engagement is concentrated: it is as if only {engagement_effective_actors:num} equally "
       "active accounts made all of it."),
    _f("engagement_actor_gini", "engagement", "index (0-1)",
       "Gini coefficient of engagement counts over engaging accounts.",
       1, "ENGAGEMENT_CONCENTRATION",
       "A few of its {engagement_actors:count} engaging accounts make most of the engagement "
       "(inequality {engagement_actor_gini:num} on a 0-1 scale)."),
    _f("engagement_overlap", "engagement", _SHARE,
       "How often the same accounts return: for each engagement, the share of the account's "
       f"engaged posts its actor engaged with, averaged (needs {E.MIN_POSTS_OVERLAP}+ posts).",
       1, "ENGAGEMENT_OVERLAP",
       "The accounts that engage return on {engagement_overlap:pct} of its "
       "{engagement_posts:count} posts on average."),
    _f("engagement_core_share", "engagement", _SHARE,
       f"Share of engagement made by accounts that engaged with at least "
       f"{E.CORE_COVERAGE:.0%} of the engaged posts.",
       1, "ENGAGEMENT_OVERLAP",
       "{engagement_core_actors:count} accounts engaged with at least "
       f"{E.CORE_COVERAGE:.0%} of its {{engagement_posts:count}} posts and made "
       "{engagement_core_share:pct} of all engagement."),
    _f("engagement_fast_share", "engagement", _SHARE,
       f"Share of engagements that arrived within {E.FAST_SECONDS} seconds of publication.",
       1, "RING_SYNCHRONY",
       "{engagement_fast_share:pct} of engagements arrived within "
       f"{E.FAST_SECONDS // 60} minutes of publication."),
    _f("engagement_synchrony", "engagement", _SHARE,
       f"Share of a post's engagements inside its busiest {E.SYNC_WINDOW_SECONDS}-second "
       f"window, over posts with {E.MIN_POST_ENGAGEMENTS}+ engagements (engagement-weighted).",
       1, "RING_SYNCHRONY",
       "On a typical post, {engagement_synchrony:pct} of the engagements arrived within the "
       f"same {E.SYNC_WINDOW_SECONDS // 60} minutes."),
    _f("engagement_median_delay", "engagement", "log10(1 + seconds)",
       "Median time from publication to engagement, log-scaled; very short delays on every "
       "post suggest coordination.",
       -1, "RING_SYNCHRONY",
       "Half of all engagements arrived within {engagement_median_delay_seconds:duration} of "
       "publication."),
    _f("engagement_delay_spread", "engagement", "log10 ratio",
       "Spread of the account's own engagement delays: log10 of the third over the first "
       f"quartile (needs {E.MIN_SPREAD_ENGAGEMENTS}+ timed engagements). Organic engagement "
       "trickles in over minutes to days; coordinated engagement arrives in one narrow band.",
       -1, "RING_SYNCHRONY",
       "Engagement arrives in an unusually narrow band of delays: the slowest of the middle "
       "half comes only {engagement_delay_spread_factor:times} later than the fastest."),
    _f("engagement_core_round_spread", "engagement", "log10 spread",
       f"How far apart the regular engagers (on at least {E.ROUND_COVERAGE:.0%} of the "
       "posts) arrive on the same post: robust spread (scaled median absolute deviation) of "
       f"their log10 delays, averaged over posts with {E.MIN_ROUND_ENGAGEMENTS}+ of them "
       f"(needs {E.MIN_ROUND_POSTS}+ such posts). A pod engages in rounds, together however "
       "late; regular fans each come on their own time.",
       -1, "RING_SYNCHRONY",
       "Its {engagement_regular_actors:count} most regular engagers arrive together: on a "
       "typical post their delays differ by a factor of only "
       "{engagement_core_round_factor:times} from one another, over "
       "{engagement_round_posts:count} posts."),
    _f("engagement_reciprocity", "engagement", _SHARE,
       "Share of sampled engagement made by accounts that the account itself reposted "
       "(needs reposts_made).",
       1, "RECIPROCAL_REPOSTS",
       "{engagement_reciprocity:pct} of its engagement comes from accounts it reposts in "
       "return."),
    _f("engagement_reciprocal_repost_share", "engagement", _SHARE,
       "Share of the account's own reposts that went to accounts engaging with it.",
       1, "RECIPROCAL_REPOSTS",
       "{engagement_reciprocal_repost_share:pct} of its own {reposts_made_count:count} reposts "
       "went to accounts that engage with it."),
    _f("engagement_repost_like_ratio", "engagement", "log10 ratio",
       "log10((1 + reposts) / (1 + likes)) over posts with both totals (else over sampled "
       "engagements); amplification rings repost far more than they like.",
       1, "REPOST_HEAVY",
       "Its posts drew {engagement_reposts:count} reposts for {engagement_likes:count} likes."),
]

_PROFILE: list[FeatureSpec] = [
    _f("profile_age_days", "profile", "days",
       "Age of the account at observation.",
       -1, "YOUNG_ACCOUNT",
       "The account was created {profile_age_days:days} before this snapshot."),
    _f("profile_log_followers_per_day", "profile", "log10(1 + followers per day)",
       "Followers gained per day of the account's life, log-scaled.",
       1, "FAST_FOLLOWER_RATE",
       "The account gained {profile_followers_per_day:count} followers per day on average "
       "since it was created."),
    _f("profile_following_to_followers", "profile", "log10 ratio",
       "log10((1 + following) / (1 + followers)).",
       1, "FOLLOW_RATIO",
       "The account follows {following_count:count} accounts and is followed by "
       "{followers_count:count}."),
    _f("profile_log_followers_per_post", "profile", "log10 ratio",
       "log10((1 + followers) / (1 + posts)): a large audience for little activity.",
       1, "LOW_ACTIVITY",
       "The account has {followers_count:count} followers for {posts_count:count} posts."),
    _f("profile_log_posts_per_day", "profile", "log10(0.01 + posts per day)",
       "Posts per day of the account's life, log-scaled.",
       -1, "LOW_ACTIVITY",
       "The account posts {profile_posts_per_day:num} times a day on average."),
    _f("profile_completeness", "profile", _SHARE,
       "Share of optional profile fields filled in (display name, bio, web site, location, "
       "own picture), among those the platform reports.",
       -1, "PROFILE_INCOMPLETE",
       "The profile fills in {profile_completeness:pct} of its optional fields."),
    _f("profile_verified", "profile", "1/0",
       "The platform verified the account.",
       -1, "NOT_VERIFIED",
       "The platform has not verified the account."),
    _f("profile_log_listed_per_follower", "profile", "log10 ratio",
       "log10((1 + lists the account is on) / (1 + followers)).",
       -1, "FEW_LISTS",
       "The account is on {listed_count:count} lists for {followers_count:count} followers."),
    _f("profile_engagement_rate", "profile", "log10 ratio",
       "log10((1 + mean engagement per post) / (1 + followers)): an audience that does not "
       "engage.",
       -1, "LOW_ENGAGEMENT",
       "Its posts draw {profile_engagement_per_post:count} engagements each on average from "
       "{followers_count:count} followers."),
]

# Global graph features: computed over all accounts in batch by the ring
# detectors and looked up per account; last, so they can grow freely.
GRAPH_COLUMNS: tuple[str, ...] = (
    "ring_block_size",
    "ring_block_density",
    "ring_block_share",
    "lockstep_group_size",
    "lockstep_score",
    "mutual_core_size",
    "mutual_repost_share",
)

_GRAPH: list[FeatureSpec] = [
    _f("graph_ring_block_size", "engagement", "accounts",
       "Members of the dense amplification block (FRAUDAR-style peeling of the global "
       "engagement graph) the account belongs to; 0 when none.",
       1, "GRAPH_RING_BLOCK",
       "The account sits in a dense block of {graph_ring_block_size:count} accounts that "
       "amplify each other."),
    _f("graph_ring_block_density", "engagement", "share (0-1)",
       "Edge density of that block: share of ordered member pairs where one engaged the other.",
       1, "GRAPH_RING_BLOCK",
       "In its block of {graph_ring_block_size:count} accounts, {graph_ring_block_density:pct} "
       "of all possible member pairs engage each other."),
    _f("graph_ring_block_share", "engagement", _SHARE,
       "Share of the engagement the account received that came from members of its block.",
       1, "GRAPH_RING_BLOCK",
       "{graph_ring_block_share:pct} of its engagement comes from a dense block of "
       "{graph_ring_block_size:count} accounts that amplify each other."),
    _f("graph_lockstep_group_size", "engagement", "accounts",
       "Members of the lockstep group the account belongs to: accounts that engage the same "
       "posts within the same short window (CopyCatch-like), or that engage each other's "
       "posts in late rounds (one start per post); 0 when none.",
       1, "GRAPH_LOCKSTEP",
       "The account moves in lockstep with a group of {graph_lockstep_group_size:count} "
       "accounts that engage the same posts together, round after round."),
    _f("graph_lockstep_score", "engagement", _SHARE,
       "Share of the posts the account engaged with that it hit within the window of a fellow "
       "lockstep-group member (for late rounds: within a factor of 1.75 of the same delay).",
       1, "GRAPH_LOCKSTEP",
       "On {graph_lockstep_score:pct} of the posts it engaged with, it did so together with "
       "another member of a lockstep group of {graph_lockstep_group_size:count} accounts."),
    _f("graph_mutual_core_size", "engagement", "accounts",
       "Size of the mutual-repost core (k-core of reciprocated reposts) the account belongs "
       "to; 0 below the minimum core.",
       1, "GRAPH_MUTUAL_CORE",
       "The account is part of a core of {graph_mutual_core_size:count} accounts that repost "
       "each other."),
    _f("graph_mutual_repost_share", "engagement", _SHARE,
       "Share of the account's reposts that were reciprocated.",
       1, "GRAPH_MUTUAL_CORE",
       "{graph_mutual_repost_share:pct} of its reposts were reposted back in return."),
]

REGISTRY: tuple[FeatureSpec, ...] = (*_AUDIENCE, *_GROWTH, *_ENGAGEMENT, *_PROFILE, *_GRAPH)
FEATURE_NAMES: tuple[str, ...] = tuple(spec.name for spec in REGISTRY)
GRAPH_FEATURES: tuple[str, ...] = tuple(f"graph_{c}" for c in GRAPH_COLUMNS)
_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURE_NAMES)}
_SPECS: dict[str, FeatureSpec] = {spec.name: spec for spec in REGISTRY}

if len(_INDEX) != len(REGISTRY):
    raise RuntimeError("a feature name is registered twice")
if FEATURE_NAMES[-len(GRAPH_FEATURES):] != GRAPH_FEATURES:
    raise RuntimeError("graph features must close the registry, in GRAPH_COLUMNS order")

# A short digest of names, families and order: model artifacts store it and
# refuse to score with a pipeline whose features differ.
REGISTRY_VERSION: str = hashlib.sha256(
    "\n".join(f"{s.name}:{s.family}" for s in REGISTRY).encode()
).hexdigest()[:12]


def feature_index(name: str) -> int:
    """Column of ``name`` in feature frames and model inputs."""
    try:
        return _INDEX[name]
    except KeyError:
        raise KeyError(f"unknown feature {name!r}") from None


def spec(name: str) -> FeatureSpec:
    try:
        return _SPECS[name]
    except KeyError:
        raise KeyError(f"unknown feature {name!r}") from None


FEATURES_BY_FAMILY: dict[str, tuple[str, ...]] = {
    family: tuple(s.name for s in REGISTRY if s.family == family) for family in FAMILIES
}


def render_reason(
    name: str,
    frame_row_values: Sequence[float] | np.ndarray | Mapping[str, float],
    context_row: Mapping[str, float],
) -> str:
    """The reason sentence of feature ``name`` filled with one account's numbers.

    ``frame_row_values`` is the account's feature row (registry order) or a
    mapping from feature name to value; ``context_row`` maps context names to
    the account's values.  Numbers are written for people; unknowns read
    "unknown", and a feature that could not be measured says so instead of
    quoting empty numbers.
    """
    feature = spec(name)
    own = _feature_value(frame_row_values, name)
    if math.isnan(own):
        return f"Not enough data to measure this signal ({_lower_first(feature.description)})."
    values: dict[str, float] = {name: own}
    for field_name, _ in template_fields(feature.reason_template):
        if field_name in context_row:
            values[field_name] = _scalar(context_row[field_name])
        elif field_name in _INDEX:
            values.setdefault(field_name, _feature_value(frame_row_values, field_name))
        else:
            raise KeyError(f"reason of {name!r} needs {field_name!r}, which the row lacks")
    return _ReasonFormatter().vformat(feature.reason_template, (), values)


def _lower_first(text: str) -> str:
    text = text.rstrip(".")
    return text[:1].lower() + text[1:]


def _feature_value(row: Sequence[float] | np.ndarray | Mapping[str, float], name: str) -> float:
    if isinstance(row, Mapping):
        return _scalar(row.get(name, float("nan")))
    if len(row) != len(FEATURE_NAMES):
        raise ValueError(f"a feature row has {len(FEATURE_NAMES)} values in registry order, "
                         f"got {len(row)}")
    return _scalar(row[_INDEX[name]])


def _scalar(v: object) -> float:
    return float("nan") if v is None else float(v)  # type: ignore[arg-type]


class _ReasonFormatter(string.Formatter):
    def format_field(self, value: object, format_spec: str) -> str:
        return FORMATTERS[format_spec or "num"](value)  # type: ignore[arg-type]


def render_reference() -> str:
    """The feature reference (``docs/features.md``), generated from the registry."""
    lines = [
        "# Feature reference",
        "",
        "Generated from `trueclout.features.registry`; do not edit by hand. Regenerate with",
        "",
        "```",
        "trueclout dev feature-docs",
        "```",
        "",
        f"Registry version `{REGISTRY_VERSION}`, {len(REGISTRY)} features in model order. "
        "*Risk* says which way a feature raises manipulation risk (higher or lower). "
        "Missing inputs give NaN (unknown), never evidence; each family also reports how "
        "much data backed it (*sufficiency*).",
        "",
        "Reason messages describe signals in the account's own numbers; they never accuse "
        "a person.",
        "",
    ]
    for family in FAMILIES:
        specs = [s for s in REGISTRY if s.family == family]
        lines += [
            f"## {family}",
            "",
            f"{FAMILY_DESCRIPTIONS[family].capitalize()}. Sufficiency: "
            f"{SUFFICIENCY_UNITS[family]}.",
            "",
            "| # | feature | unit | risk | reason code | meaning |",
            "|---|---|---|---|---|---|",
        ]
        for s in specs:
            risk = "higher" if s.risk_direction > 0 else "lower"
            lines.append(f"| {_INDEX[s.name]} | `{s.name}` | {s.unit} | {risk} | "
                         f"`{s.reason_code}` | {s.description} |")
        lines += ["", "Reason templates:", ""]
        lines += [f"- `{s.name}`: {s.reason_template}" for s in specs]
        lines.append("")
    codes = sorted({s.reason_code for s in REGISTRY})
    lines += ["## Reason codes", ""]
    for code in codes:
        members = ", ".join(f"`{s.name}`" for s in REGISTRY if s.reason_code == code)
        lines.append(f"- `{code}`: {members}")
    lines.append("")
    return "\n".join(lines)
