"""Evaluation by injection: planting does what it says, and planted rings are recovered."""

from __future__ import annotations

import numpy as np
import pytest

from trueclout.cli import main
from trueclout.errors import UserError
from trueclout.training.evaluate.ring_injection import (
    RingSpec,
    evaluate,
    host_from_tables,
    plant_rings,
    pooled,
    retweet_host,
    run_detection,
    score,
    synthetic_host,
)


@pytest.fixture(scope="module")
def host():
    return synthetic_host(3000, seed=11)


def test_planting_adds_exactly_the_specified_rings(host) -> None:
    planted = plant_rings(host, [RingSpec(size=6, density=1.0, count=2, posts_per_member=4)],
                          seed=1)
    groups, sizes = np.unique(planted.ring[planted.ring >= 0], return_counts=True)
    assert len(groups) == 2 and sizes.tolist() == [6, 6]
    new = slice(host.n_edges, planted.n_edges)
    actor, target = planted.actor[new], planted.target[new]
    # density 1: every member engages each of the 4 posts of each of its 5 fellows.
    assert planted.n_edges - host.n_edges == 2 * 6 * 5 * 4
    assert (planted.ring[actor] == planted.ring[target]).all()
    assert (planted.at[new] - planted.post_created[new] < 15 * 60).mean() > 0.95
    received = host.received()
    assert (received[planted.ring >= 0] <= np.quantile(received, 0.95)).all()


def test_camouflage_engages_popular_accounts_in_proportion(host) -> None:
    spec = RingSpec(size=5, density=1.0, count=2, camouflage="heavy")
    planted = plant_rings(host, [spec], seed=2)
    new = slice(host.n_edges, planted.n_edges)
    inner = planted.ring[planted.target[new]] >= 0
    assert (~inner).sum() == 3 * inner.sum()
    popular = np.argsort(-host.received())[: max(20, host.n_nodes // 100)]
    assert np.isin(planted.target[new][~inner], popular).all()


def test_bad_ring_specs_name_the_field() -> None:
    with pytest.raises(UserError, match="size"):
        RingSpec(size=1, density=0.5)
    with pytest.raises(UserError, match="density"):
        RingSpec(size=5, density=0)
    with pytest.raises(UserError, match="camouflage"):
        RingSpec(size=5, density=0.5, camouflage="extreme")


def test_cannot_plant_more_members_than_accounts(host) -> None:
    with pytest.raises(UserError, match="cannot plant"):
        plant_rings(host, [RingSpec(size=50, density=0.5, count=100)])


def test_score_counts_hits_misses_and_false_alarms() -> None:
    s = score(np.array([1, 1, 0, 0, 1], bool), np.array([1, 0, 1, 0, 1], bool))
    assert (s.tp, s.fp, s.fn) == (2, 1, 1)
    assert s.precision == 2 / 3 and s.recall == 2 / 3 and s.f1 == 2 / 3


def test_planted_rings_are_recovered_with_and_without_camouflage(host) -> None:
    scenarios = evaluate(lambda: host, sizes=(5, 10), densities=(0.6, 0.9),
                         camouflage=("none", "heavy"), members_per_scenario=60, seed=4)
    by_level = pooled(scenarios, lambda sc: sc.camouflage)
    assert by_level["none"]["rings"].f1 >= 0.9
    assert by_level["heavy"]["rings"].f1 >= 0.8
    # Reciprocity alone, the baseline, is fooled by camouflage; the graph detectors are not.
    assert by_level["heavy"]["reciprocity"].f1 < by_level["heavy"]["rings"].f1


def test_genuine_host_has_no_rings_flagged(host) -> None:
    scores = run_detection(host)
    assert scores["rings"].fp == 0


def _world_rings(pod_delay_seconds: tuple[float, float]) -> dict:
    from trueclout.training.sim.params import TacticRanges, WorldParams
    from trueclout.training.sim.world import simulate_world

    params = WorldParams(tactics=TacticRanges(pod_delay_seconds=pod_delay_seconds))
    world = simulate_world(300, seed=3, params=params)
    host = host_from_tables(world.tables, world.labels)
    ring_members = sum(world.labels.column("engagement_ring").to_pylist())
    assert ring_members > 0 and (host.ring >= 0).sum() == ring_members
    assert 0 < host.judged.sum() <= 300  # accounts without any engagement are no nodes
    return run_detection(host)


def test_simulated_world_rings_are_found() -> None:
    """Pods engaging within 20 minutes of a post: the graph detectors' own ground."""
    assert _world_rings((5.0, 1_200.0))["rings"].f1 >= 0.9


def test_command_line_prints_the_tables(capsys) -> None:
    assert main(["dev", "ring-injection", "--accounts", "1500", "--sizes", "5", "--densities",
                 "0.9", "--camouflage", "none", "--members", "20"]) == 0
    out = capsys.readouterr().out
    assert "host synthetic: 1,500 accounts" in out
    assert "by camouflage and ring size" in out and "reciprocity" in out


def test_command_line_refuses_bad_options(capsys) -> None:
    assert main(["dev", "ring-injection", "--accounts", "1500", "--camouflage", "extreme"]) == 2
    assert "camouflage" in capsys.readouterr().err
    assert main(["dev", "ring-injection", "--sizes", "5,ten"]) == 2
    assert "--sizes" in capsys.readouterr().err


@pytest.mark.realdata
def test_rings_planted_into_real_retweet_timelines_are_recovered(datasets_dir) -> None:
    path = datasets_dir / "retweet-timelines"
    if not path.is_dir():
        pytest.skip(f"{path} not present")
    real = retweet_host(path)
    hubs = real.received() > 0
    assert hubs.sum() == 78  # one account per timeline is retweeted; the rest retweet it
    scenarios = evaluate(lambda: real, sizes=(5, 20), densities=(0.9,),
                         camouflage=("none", "heavy"), members_per_scenario=60, seed=5)
    by_level = pooled(scenarios, lambda sc: sc.camouflage)
    assert by_level["none"]["rings"].f1 >= 0.9
    assert by_level["heavy"]["rings"].f1 >= 0.8
