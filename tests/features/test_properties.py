"""Invariants every snapshot must satisfy, checked on hypothesis-generated snapshots."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.features.builders import (
    crude_fake,
    organic_account,
    tables_of,
    with_crude_fakes,
    with_pod,
    with_purchase,
)
from tests.strategies import snapshots
from trueclout.contract import AccountSnapshot
from trueclout.features.frame import FeatureFrame
from trueclout.features.pipeline import compute_features
from trueclout.features.registry import FEATURE_NAMES, spec
from trueclout.tables import SnapshotTables, concat_tables, snapshot_to_tables

LISTS = ("follower_history", "followers", "posts", "engagements", "reposts_made")
# Shares of followers with one fingerprint each: every follower who shows the
# fingerprint adds to the numerator and the denominator alike.
FAKE_SHARES = (
    "audience_crude_fake_share",
    "audience_default_avatar_share",
    "audience_empty_bio_share",
    "audience_inactive_share",
    "audience_follow_heavy_share",
    "audience_young_at_follow_share",
    "audience_digit_username_share",
)
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def features_of(snapshot: AccountSnapshot) -> FeatureFrame:
    return compute_features(snapshot_to_tables(snapshot))


def assert_same_row(a: FeatureFrame, i: int, b: FeatureFrame, j: int) -> None:
    np.testing.assert_allclose(a.values[i], b.values[j], rtol=1e-9, atol=1e-12,
                               equal_nan=True, err_msg=str(list(FEATURE_NAMES)))
    for family in a.sufficiency:
        assert a.sufficiency[family][i] == b.sufficiency[family][j]
    for key in a.context:
        np.testing.assert_allclose(a.context[key][i], b.context[key][j], rtol=1e-9,
                                   atol=1e-12, equal_nan=True, err_msg=key)


@SETTINGS
@given(snapshot=snapshots(), seed=st.integers(0, 2**32 - 1))
def test_features_ignore_the_order_of_list_items(snapshot: AccountSnapshot, seed: int) -> None:
    rng = np.random.default_rng(seed)
    doc = snapshot.model_dump()
    for name in LISTS:
        doc[name] = [doc[name][k] for k in rng.permutation(len(doc[name]))]
    shuffled = AccountSnapshot.model_validate(doc)
    assert_same_row(features_of(snapshot), 0, features_of(shuffled), 0)


@SETTINGS
@given(snapshot=snapshots(), n_fakes=st.integers(1, 30))
def test_adding_fake_looking_followers_never_lowers_fake_shares(
        snapshot: AccountSnapshot, n_fakes: int) -> None:
    doc = snapshot.model_dump()
    # Made at the moment of observation: no follower can be younger.
    observed = snapshot.observed_at
    doc["followers"] = doc["followers"] + [crude_fake(i, created=observed, followed=observed)
                                           for i in range(n_fakes)]
    before = features_of(snapshot)
    after = features_of(AccountSnapshot.model_validate(doc))
    for name in FAKE_SHARES:
        b, a = before.column(name)[0], after.column(name)[0]
        assert not np.isnan(a), name
        if not np.isnan(b):
            assert a >= b - 1e-12, (name, b, a)
    # The youngest possible followers can only lower the median age (its risk runs
    # the other way).
    assert spec("audience_median_age_days").risk_direction == -1
    b, a = before.column("audience_median_age_days")[0], after.column(
        "audience_median_age_days")[0]
    assert np.isnan(b) or a <= b + 1e-9


@pytest.fixture(scope="module")
def batch() -> SnapshotTables:
    """999 varied accounts: organic, with tactics, and with empty lists."""
    docs = []
    for i in range(999):
        doc = organic_account(f"batch-{i}", seed=i, days=30, n_posts=4, engagements_per_post=4,
                              n_followers=5, reposts_made=2)
        if i % 7 == 1:
            doc = with_purchase(doc, days_ago=10, bought=1_000 + i)
        elif i % 7 == 2:
            doc = with_pod(doc, members=5, seed=i)
        elif i % 7 == 3:
            doc = with_crude_fakes(doc, n=3)
        elif i % 7 == 4:
            for name in LISTS[i % 5:: 2]:
                doc[name] = []
            if not doc["posts"]:
                doc["engagements"] = []
        docs.append(doc)
    return tables_of(*docs)


@pytest.mark.slow
@SETTINGS
@given(snapshot=snapshots(), position=st.integers(0, 999))
def test_one_snapshot_equals_its_row_in_a_batch_of_1000(
        batch: SnapshotTables, snapshot: AccountSnapshot, position: int) -> None:
    snapshot = snapshot.model_copy(update={"account_id": "probe::account"})
    alone = snapshot_to_tables(snapshot)
    ids = batch.profiles.column("account_id").to_pylist()
    tables = concat_tables([batch.select_accounts(ids[:position]), alone,
                            batch.select_accounts(ids[position:])])
    together = compute_features(tables)
    assert together.account_ids[position] == "probe::account"
    assert_same_row(compute_features(alone), 0, together, position)
