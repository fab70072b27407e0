"""Rings across accounts at scoring time: built by `trueclout rings`, looked up by the server.

A small simulated world has rings; the CLI writes its ring table where the
server looks, and the server uses it without a restart.  Replacing the file
with a table that lacks the account makes the account's graph signals
unknown again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest

from tests.service.conftest import Service, start_service
from tests.service.model_support import model_scorer_for
from trueclout.cli import main
from trueclout.features.graph.table import detect_rings, load_ring_table
from trueclout.io import write_tables
from trueclout.tables import tables_to_snapshots
from trueclout.training.sim.params import TacticRanges, WorldParams
from trueclout.training.sim.world import simulate_world

PROMPT_PODS = (5.0, 1_200.0)

GRAPH_CODES = {"GRAPH_RING_BLOCK", "GRAPH_LOCKSTEP", "GRAPH_MUTUAL_CORE"}
NOT_LOOKED_UP = "were not looked up for this account"


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two small worlds as table folders, and a ring member of the first (in a ring there).

    Pods engage within 20 minutes here: the graph detectors look for prompt,
    dense engagement, and pods that wait hours are beyond them (see
    tests/training/evaluate/test_ring_injection.py).
    """
    root = tmp_path_factory.mktemp("ring-worlds")
    prompt = WorldParams(tactics=TacticRanges(pod_delay_seconds=PROMPT_PODS))
    first, other = (simulate_world(300, seed=11, params=prompt),
                    simulate_world(60, seed=12, params=prompt))
    write_tables(first.tables, root / "first")
    write_tables(other.tables, root / "other")
    rings = detect_rings(first.tables)
    in_ring = pc.or_(pc.greater(rings.column("ring_block_size"), 0),
                     pc.greater(rings.column("lockstep_group_size"), 0))
    ringed = set(rings.filter(in_ring).column("account_id").to_pylist())
    labels = first.labels.filter(pc.equal(first.labels.column("engagement_ring"), 1))
    member = next(a for a in labels.column("account_id").to_pylist() if a in ringed)
    snapshot = next(tables_to_snapshots(first.tables.select_accounts([member])))
    return {"first": root / "first", "other": root / "other", "member": snapshot}


@pytest.fixture(scope="module")
def ring_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    data_dir = tmp_path_factory.mktemp("ring-service")
    scorer = model_scorer_for(data_dir, ring_table_check_seconds=0)
    assert scorer.rings.path == data_dir / "ring_table.parquet"
    with start_service("sqlite", data_dir, scorer=scorer) as svc:
        yield svc


def score(service: Service, snapshot: Any) -> dict[str, Any]:
    with service.client(service.new_key("platform")) as client:
        response = client.post("/v1/score?store=false", content=snapshot.model_dump_json())
    assert response.status_code == 200, response.text
    return response.json()


def build_rings(data: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["rings", str(data), "--out", str(out)]) == 0
    return capsys.readouterr().out


def test_rings_are_used_as_soon_as_the_table_is_written_and_dropped_when_replaced(
        worlds: dict[str, Any], ring_service: Service,
        capsys: pytest.CaptureFixture[str]) -> None:
    member = worlds["member"]
    table_path = ring_service.scorer.rings.path

    before = score(ring_service, member)
    assert not GRAPH_CODES & {r["code"] for r in before["reasons"]}
    assert any(NOT_LOOKED_UP in n for n in before["confidence"]["notes"])

    summary = build_rings(worlds["first"], table_path, capsys)
    assert "wrote ring table" in summary and "in dense blocks" in summary
    assert member.account_id in load_ring_table(table_path).column("account_id").to_pylist()
    with_rings = score(ring_service, member)
    assert GRAPH_CODES & {r["code"] for r in with_rings["reasons"]}
    assert with_rings["tactics"]["engagement_ring"] >= before["tactics"]["engagement_ring"]
    assert with_rings["risk"]["level"] in ("elevated", "high")
    assert not any(NOT_LOOKED_UP in n for n in with_rings["confidence"]["notes"])

    build_rings(worlds["other"], table_path, capsys)  # a table without this account
    after = score(ring_service, member)
    assert any(NOT_LOOKED_UP in n for n in after["confidence"]["notes"])
    assert {k: after[k] for k in ("risk", "tactics", "reasons")} == {
        k: before[k] for k in ("risk", "tactics", "reasons")}


def test_rings_cli_reads_json_lines_too(worlds: dict[str, Any], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from trueclout.io import iter_snapshots, write_jsonl

    source = tmp_path / "other.jsonl"
    write_jsonl(iter_snapshots(worlds["other"]), source)
    from_jsonl, from_tables = tmp_path / "a.parquet", tmp_path / "b.parquet"
    build_rings(source, from_jsonl, capsys)
    build_rings(worlds["other"], from_tables, capsys)
    assert load_ring_table(from_jsonl).equals(load_ring_table(from_tables))


def test_rings_cli_names_a_missing_input(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rings", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r.parquet")]) == 2
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "r.parquet").exists()
