"""`make model`'s worlds: the default mix everywhere, and churners beside the training world."""

from __future__ import annotations

import numpy as np

from trueclout.training.data.labelled import TrainingSet
from trueclout.training.fit import default_model as dm
from trueclout.training.sim.params import DEFAULT_KIND_WEIGHTS, HELD_OUT_REGIMES, TacticRanges
from trueclout.training.sim.plan import make_plan


def test_the_worlds_keep_the_default_mix_and_the_supplement_holds_churners_alone() -> None:
    seen, unseen = TacticRanges().split(HELD_OUT_REGIMES)
    for what, tactics in (("train", seen), ("holdout", seen), ("regimes", unseen)):
        params = dm.world_params_for(what, tactics)
        assert params.kind_weights == DEFAULT_KIND_WEIGHTS and params.tactics == tactics
    supplement = dm.world_params_for("train_churn", seen)
    assert supplement.tactics == seen  # churn drawn from the training ranges only
    plan = make_plan(200, 1, supplement)
    assert plan.churn.all() and (plan.purchase < 0).all() and (plan.ring < 0).all()
    # As many churners again as the training world holds.
    world = make_plan(6_000, 1, dm.world_params_for("train", seen))
    single = world.churn & (world.purchase < 0) & (world.ring < 0)
    assert 0.6 < dm.churn_supplement_size(6_000) / single.sum() < 1.6


def toy_set(ids: list[str], groups: list[str], churn: list[int]) -> TrainingSet:
    n = len(ids)
    return TrainingSet(x=np.arange(2 * n, dtype=np.float32).reshape(n, 2),
                       feature_names=("a", "b"), account_ids=np.array(ids, dtype=object),
                       labels={"bought_followers": np.zeros(n, np.int8),
                               "engagement_ring": np.zeros(n, np.int8),
                               "growth_burst": np.array(churn, np.int8)},
                       groups=np.array(groups, dtype=object), source="toy", digest=ids[0])


def test_the_supplement_joins_the_training_set_without_sharing_an_id_or_a_group() -> None:
    train = toy_set(["1", "2", "3"], ["g1", "g2", "g3"], [0, 0, 1])
    extra = toy_set(["1", "9"], ["g1", "g9"], [1, 1])
    both = dm.with_supplement(train, extra)
    assert len(both) == 5 and both.target("growth_burst").sum() == 3
    assert len(set(both.account_ids)) == 5 and len(set(both.groups)) == 5
    assert both.digest not in (train.digest, extra.digest)
