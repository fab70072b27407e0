"""Tactic ranges: worlds play each tactic every way it is sold, and a regime can be held out."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from trueclout.errors import UserError
from trueclout.training.sim.params import HELD_OUT_REGIMES, TacticRanges, WorldParams
from trueclout.training.sim.plan import make_plan
from trueclout.training.sim.world import world_params


def test_split_trains_on_the_rest_and_tests_on_the_region_alone() -> None:
    full = TacticRanges()
    train, test = full.split(HELD_OUT_REGIMES)
    for name, (low, high) in HELD_OUT_REGIMES.items():
        assert getattr(test, name) == (low, high)
        t_low, t_high = getattr(train, name)
        # The two touch at one edge and together make the full range.
        assert (t_low, t_high) in ((high, getattr(full, name)[1]), (getattr(full, name)[0], low))
    untouched = set(TacticRanges.model_fields) - set(HELD_OUT_REGIMES)
    for name in untouched:
        assert getattr(train, name) == getattr(full, name) == getattr(test, name)


@pytest.mark.parametrize("region", [(0.5, 0.8), (0.0, 100.0), (0.01, 0.1)])
def test_a_held_out_region_must_be_one_end_of_its_range(region) -> None:
    with pytest.raises(ValueError, match="churn_wave_share"):
        TacticRanges().split({"churn_wave_share": region})


def test_ranges_are_validated_with_the_field_named() -> None:
    with pytest.raises(ValidationError, match="drip_days"):
        TacticRanges(drip_days=(30, 10))
    with pytest.raises(UserError, match="tactics"):
        world_params(None, tactics={"pod_delay_seconds": (-1, 10)})
    # A range drawn log-uniform cannot start at 0 (its log would be -inf).
    with pytest.raises(UserError, match="pod_window_seconds.*log-uniform must start above 0"):
        world_params(None, tactics={"pod_window_seconds": (0, 3_600)})


def test_the_world_plays_inside_its_ranges() -> None:
    slow = TacticRanges(pod_delay_seconds=(3_600.0, 7_200.0), drip_days=(50.0, 60.0),
                        churn_wave_share=(0.05, 0.1))
    params = WorldParams(kind_weights={"ring_member": 1, "bought_drip": 1, "churn": 1},
                         tactics=slow)
    plan = make_plan(600, 3, params)
    assert len(plan.ring_speed) > 0
    assert plan.ring_speed.min() >= 3_600 and plan.ring_speed.max() <= 7_200
    drip = plan.purchase >= 0
    # Delivery is cut where it would run past the observation.
    assert plan.buy_len[drip].max() <= 60 and np.median(plan.buy_len[drip]) >= 45
    churn = plan.churn
    wave = plan.churn_size[churn] / plan.following_start[churn]
    big_enough = plan.following_start[churn] * 0.05 >= 20  # below, the 20-account floor
    assert np.all(wave[big_enough] <= 0.1 + 1e-9)


def test_pods_run_in_rounds_or_by_a_window_rule_as_the_ranges_say() -> None:
    kinds = {"ring_member": 1.0, "steady": 1.0}
    windows = TacticRanges(pod_window_seconds=(1_800.0, 3_600.0), pod_window_share=0.5)
    plan = make_plan(1_500, 5, WorldParams(kind_weights=kinds, tactics=windows))
    ruled = plan.ring_window > 0
    assert 0 < ruled.sum() < len(ruled)  # both kinds of pod in one world
    assert plan.ring_window[ruled].min() >= 1_800 and plan.ring_window[ruled].max() <= 3_600
    rounds_only = make_plan(1_500, 5, WorldParams(
        kind_weights=kinds, tactics=TacticRanges(pod_window_share=0.0)))
    assert not (rounds_only.ring_window > 0).any()
    with pytest.raises(ValidationError, match="pod_window_share"):
        TacticRanges(pod_window_share=1.5)


def test_simulate_takes_regimes_and_ranges_and_names_bad_ones(tmp_path, capsys) -> None:
    import json

    from trueclout.cli import main

    out = tmp_path / "w"
    assert main(["simulate", "-n", "12", "-o", str(out), "--regimes", "held-out",
                 "--tactic", "pod_jitter=0.3,0.4"]) == 0
    tactics = json.loads((out / "manifest.json").read_text())["parameters"]["tactics"]
    assert tactics["pod_delay_seconds"] == list(HELD_OUT_REGIMES["pod_delay_seconds"])
    assert tactics["pod_jitter"] == [0.3, 0.4]
    for args, says in ((["--tactic", "pod_delay=1,2"], "unknown range 'pod_delay'"),
                       (["--tactic", "drip_days=30,10"], "tactics.drip_days"),
                       (["--tactic", "drip_days=a"], "NAME=LOW,HIGH"),
                       (["--regimes", "x"], "regimes: must be one of")):
        assert main(["simulate", "-n", "5", "-o", str(tmp_path / "x"), *args]) == 2
        assert says in capsys.readouterr().err
