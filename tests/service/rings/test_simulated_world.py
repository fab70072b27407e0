"""Issue 15's measurement: a platform POSTs a world, rings refresh, re-scoring finds pods.

A simulated world the model never saw is scored through the HTTP API with
the shipped model (stored, as a platform's calls are), the ring table is
refreshed from the edge store, and every account is scored again.  Figures
(printed; run with ``-s``): ring ROC-AUC over all accounts, recall at
``high`` on pod members (also apart for pods that run in rounds and pods run
by a window rule), false-positive rate at ``high`` on genuine communities,
before and after the refresh.  The issue's targets, ROC-AUC >= 0.99, recall
>= 0.9 and FPR <= 1%, are the assertions; the recall target holds for pods
that run in rounds, the evidence the ring table reads.  A window-rule pod
(each member at its own moment of a window, ``TacticRanges.pod_window_share``)
shares no round, looks to the table like a community it cannot judge, and is
judged from its snapshots: its recall is printed, and the refresh must not
lower it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pytest

from tests.service.conftest import Service, start_service
from tests.service.model_support import model_scorer_for
from trueclout.service.runtime.ring_refresh import RingRefresher
from trueclout.tables import tables_to_snapshots
from trueclout.training.sim.plan import make_plan, pod_windows
from trueclout.training.sim.world import World, simulate_world

# A larger or other world for a closer look: TRUECLOUT_RING_WORLD=ACCOUNTS,SEED.
WORLD_ACCOUNTS, WORLD_SEED = (int(v) for v in os.environ.get(
    "TRUECLOUT_RING_WORLD", "400,1515").split(","))  # 1515: not a training seed
BATCH = 50


@pytest.fixture(scope="module")
def world() -> World:
    return simulate_world(WORLD_ACCOUNTS, seed=WORLD_SEED)


@pytest.fixture(scope="module")
def model_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    data_dir = tmp_path_factory.mktemp("world-service")
    scorer = model_scorer_for(data_dir, ring_table_check_seconds=0)
    with start_service("sqlite", data_dir, scorer=scorer, max_batch_items=BATCH,
                       max_body_bytes=64 * 1024 * 1024) as svc:
        yield svc


def score_all(service: Service, key: str, documents: list[str], *, store: bool
              ) -> list[dict[str, Any]]:
    results = []
    with service.client(key) as client:
        for start in range(0, len(documents), BATCH):
            body = '{"snapshots": [' + ",".join(documents[start:start + BATCH]) + "]}"
            response = client.post(f"/v1/score/batch?store={str(store).lower()}", content=body,
                                   headers={"content-type": "application/json"}, timeout=300)
            assert response.status_code == 200, response.text[:500]
            for item in response.json()["results"]:
                assert item["status"] == "ok", item
                results.append(item["assessment"])
    return results


def figures(world: World, results: list[dict[str, Any]]) -> dict[str, float]:
    """Ring ROC-AUC, recall at high on pod members, FPR at high on genuine communities."""
    from sklearn.metrics import roc_auc_score

    by_id = {r["account_id"]: r for r in results}
    labels = world.labels
    ids = labels.column("account_id").to_pylist()
    ring = np.array(labels.column("engagement_ring").to_pylist()) == 1
    community = np.array(pc.equal(labels.column("kind"), "community").to_pylist())
    pod_only = np.array(pc.equal(labels.column("kind"), "ring_member").to_pylist())
    probability = np.array([by_id[a]["tactics"]["engagement_ring"] for a in ids])
    high = np.array([by_id[a]["risk"]["level"] == "high" for a in ids])
    window = pod_windows(make_plan(world.num_accounts, world.seed, world.params),
                         labels.column("group_id").to_pylist())
    return {"roc_auc": float(roc_auc_score(ring, probability)),
            "pod_recall_at_high": float(high[ring].mean()),
            "round_pod_recall_at_high": float(high[ring & (window == 0)].mean()),
            "window_pod_recall_at_high": float(high[ring & (window > 0)].mean())
            if (ring & (window > 0)).any() else float("nan"),
            "community_fpr_at_high": float(high[community].mean()),
            "pod_only_recall_at_high": float(high[pod_only].mean()),
            "pod_members": int(ring.sum()), "communities": int(community.sum())}


def test_rings_found_from_what_was_posted(world: World, model_service: Service,
                                          tmp_path: Path) -> None:
    key = model_service.new_key("platform")
    documents = [s.model_dump_json() for s in tables_to_snapshots(world.tables)]
    before = figures(world, score_all(model_service, key, documents, store=True))

    outcome = RingRefresher.from_settings(model_service.settings, model_service.database
                                          ).refresh()
    assert outcome.status == "refreshed"
    assert outcome.path == model_service.scorer.rings.path
    after = figures(world, score_all(model_service, key, documents, store=False))
    print(f"\nworld of {WORLD_ACCOUNTS} accounts (seed {WORLD_SEED}), "
          f"{after['pod_members']} pod members, {after['communities']} in genuine communities; "
          f"ring table {outcome.accounts:,} accounts from {outcome.edges:,} edges "
          f"in {outcome.seconds:.1f} s")
    for name in ("roc_auc", "pod_recall_at_high", "round_pod_recall_at_high",
                 "window_pod_recall_at_high", "pod_only_recall_at_high",
                 "community_fpr_at_high"):
        print(f"  {name:<25} before {before[name]:.3f}  after {after[name]:.3f}")
    # Measured (shipped model 52ba55138999, this world, whose pods all run in rounds):
    # ROC-AUC 1.000 before and after; recall at high on pod members 0.769 -> 1.000; FPR at
    # high 0 of 35 both times.  The assertions are the targets.
    assert after["roc_auc"] >= max(before["roc_auc"], 0.99)
    assert after["round_pod_recall_at_high"] >= 0.9
    if after["window_pod_recall_at_high"] == after["window_pod_recall_at_high"]:  # any
        assert after["window_pod_recall_at_high"] >= before["window_pod_recall_at_high"]
    assert after["community_fpr_at_high"] <= 0.01
