"""`trueclout batch` in-process: equal to the online path, JSON Lines equal to tables, the layout.

One small simulated world (1,000 accounts, small follower samples and a
thin engagement sample, so it stays quick) is scored in batch and one
snapshot at a time through the online composition; every field but the id
and the time must agree.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.service.batch.same_output import assert_same_run
from trueclout.features.graph.table import detect_rings, save_ring_table
from trueclout.io import write_jsonl, write_tables
from trueclout.models.artifact import SHIPPED_DIR, load_artifact
from trueclout.progress import SilentProgress
from trueclout.service.batch.chunk import ArtifactScorerSpec
from trueclout.service.batch.inputs import OnError
from trueclout.service.batch.outputs import (
    ASSESSMENT_SCHEMA,
    assessments_to_table,
    read_batch_metadata,
    table_to_assessments,
)
from trueclout.service.batch.run import BatchOptions, run_batch
from trueclout.tables import tables_to_snapshots

ACCOUNTS = 1_000
SCORED_AT = datetime(2026, 6, 2, tzinfo=UTC)
SPEC = ArtifactScorerSpec(str(SHIPPED_DIR))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from trueclout.training.sim.world import simulate_world

    root = tmp_path_factory.mktemp("batch-world")
    world = simulate_world(ACCOUNTS, seed=11, followers_sample=10, engagement_scale=0.05,
                           history_days=60)
    write_tables(world.tables, root / "tables")
    ring = detect_rings(world.tables)
    save_ring_table(ring, root / "rings.parquet")
    return {"root": root, "world": world, "tables": root / "tables", "ring": ring,
            "ring_file": root / "rings.parquet"}


def _options(**values: object) -> BatchOptions:
    return BatchOptions(**{"run_id": "test-run", "scored_at": SCORED_AT, **values})


def _comparable(assessments: list) -> list[dict]:
    out = []
    for a in assessments:
        doc = a.model_dump(mode="json")
        doc.pop("assessment_id")
        doc.pop("scored_at")
        out.append(doc)
    return out


@pytest.mark.slow
def test_batch_equals_one_by_one_online_assessments(world: dict, tmp_path: Path) -> None:
    """The API's scorer (model and ring-table file, as a server loads them), one per call."""
    from trueclout.service.scoring.model_scorer import ModelScorer
    from trueclout.service.scoring.ring_lookup import RingTableLookup

    out = tmp_path / "assessments.parquet"
    result = run_batch(world["tables"], out, SPEC,
                       _options(chunk_accounts=300, ring_table=world["ring_file"]))
    assert result.accounts == ACCOUNTS
    batch = table_to_assessments(pq.read_table(out))

    scorer = ModelScorer(load_artifact(SHIPPED_DIR, nthread=1),
                         RingTableLookup(world["ring_file"]))
    online = [scorer.assess(snapshot, scored_at=datetime.now(UTC))
              for snapshot in tables_to_snapshots(world["world"].tables)]
    assert [a.account_id for a in batch] == [a.account_id for a in online]
    assert _comparable(batch) == _comparable(online)
    # Not a vacuous comparison: the world has flagged accounts, reasons and ring members.
    assert any(a.risk.flag for a in batch)
    assert any(a.reasons for a in batch)
    assert result.ring_accounts > 0


def test_rings_detected_in_batch_equal_the_ring_table_path(world: dict, tmp_path: Path) -> None:
    """Rings found by the batch's own lean graph stage give the same assessments."""
    given = tmp_path / "given.parquet"
    found = tmp_path / "found.parquet"
    run_batch(world["tables"], given, SPEC, _options(ring_table=world["ring_file"]))
    result = run_batch(world["tables"], found, SPEC, _options(chunk_accounts=250))
    assert result.edge_stats is not None and result.edge_stats.edges > 0
    a, b = pq.read_table(given), pq.read_table(found)
    for column in ("account_id", "risk_level", "risk_flag", "reasons", "confidence_level"):
        assert a.column(column).equals(b.column(column)), column
    for column in ("risk_probability", "tactic_engagement_ring", "adjusted_score"):
        x = a.column(column).to_numpy(zero_copy_only=False)
        y = b.column(column).to_numpy(zero_copy_only=False)
        assert x == pytest.approx(y, rel=1e-9, abs=1e-12, nan_ok=True), column


def test_json_lines_gives_the_same_as_tables_and_reports_bad_lines(world: dict,
                                                                   tmp_path: Path) -> None:
    snapshots = list(tables_to_snapshots(world["world"].tables.select_accounts(
        world["world"].tables.profiles.column("account_id").to_pylist()[:120])))
    jsonl = tmp_path / "snapshots.jsonl"
    write_jsonl(snapshots, jsonl)
    lines = jsonl.read_bytes().splitlines()
    bad = json.loads(lines[4])
    bad["profile"]["followers_count"] = -5
    lines[4] = json.dumps(bad).encode()
    jsonl.write_bytes(b"\n".join(lines) + b"\n")
    tables = tmp_path / "subset"
    from trueclout.tables import snapshots_to_tables

    write_tables(snapshots_to_tables(snapshots[:4] + snapshots[5:]), tables)

    notes: list[str] = []

    class Notes:
        def start(self, stage: str, total: int | None) -> None: ...
        def advance(self, amount: int = 1) -> None: ...
        def note(self, line: str) -> None:
            notes.append(line)

    from_json = run_batch(jsonl, tmp_path / "a.parquet", SPEC,
                          _options(chunk_accounts=50, ring_table=world["ring_file"]),
                          progress=Notes())
    run_batch(tables, tmp_path / "b.parquet", SPEC,
              _options(chunk_accounts=50, ring_table=world["ring_file"]))
    assert from_json.invalid == 1 and from_json.accounts == 119
    assert any(":line 5" in n and "followers_count" in n for n in notes), notes
    assert pq.read_table(tmp_path / "a.parquet").equals(pq.read_table(tmp_path / "b.parquet"))
    assert not any(p.name.startswith(".trueclout-batch-") for p in tmp_path.iterdir())

    from trueclout.errors import UserError

    with pytest.raises(UserError, match="1 invalid record"):
        run_batch(jsonl, tmp_path / "c.parquet", SPEC,
                  _options(on_error=OnError.fail, ring_table=world["ring_file"]))
    assert not (tmp_path / "c.parquet").exists()


def test_output_layout_round_trips_and_carries_the_run(world: dict, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    features = tmp_path / "features.parquet"
    run_batch(world["tables"], out, SPEC,
              _options(chunk_accounts=400, no_rings=True, features_out=features))
    table = pq.read_table(out)
    assert table.schema.remove_metadata().equals(ASSESSMENT_SCHEMA)
    assert pq.ParquetFile(out).num_row_groups == 3  # one per chunk: streamed, not buffered
    assert assessments_to_table(table_to_assessments(table)).equals(
        table.replace_schema_metadata(None))
    meta = read_batch_metadata(out)
    assert meta["run_id"] == "test-run" and meta["rings"].startswith("none")
    assert meta["model_version"] == load_artifact(SHIPPED_DIR).version
    assert set(table.column("scored_at").to_pylist()) == {SCORED_AT}
    ids = table.column("assessment_id").to_pylist()
    assert len(set(ids)) == len(ids) and all(len(i) == 32 for i in ids)

    frame = pq.read_table(features)
    assert frame.column("account_id").equals(table.column("account_id"))
    from trueclout.features.registry import FEATURE_NAMES

    assert all(name in frame.column_names for name in FEATURE_NAMES)
    # No rings: the graph features are unknown, never zero.
    assert frame.column("graph_ring_block_size").null_count == 0
    assert all(v != v for v in frame.column("graph_ring_block_size").to_pylist())


@pytest.mark.slow
def test_worker_processes_give_the_one_process_output(world: dict, tmp_path: Path) -> None:
    """Edge parts and chunks in two spawned workers: the same rows, features and ring table."""
    one = run_batch(world["tables"], tmp_path / "one.parquet", SPEC,
                    _options(chunk_accounts=250, features_out=tmp_path / "one-features.parquet"))
    two = run_batch(world["tables"], tmp_path / "two.parquet", SPEC,
                    _options(chunk_accounts=250, workers=2,
                             features_out=tmp_path / "two-features.parquet"))
    assert (one.runner, two.runner) == ("in-process", "in-process, 2 worker processes")
    assert two.accounts == one.accounts == ACCOUNTS
    assert pq.ParquetFile(tmp_path / "two.parquet").num_row_groups == 4
    assert_same_run(tmp_path / "two.parquet", tmp_path / "one.parquet",
                    tmp_path / "two-features.parquet", tmp_path / "one-features.parquet")
    assert two.ring_accounts == one.ring_accounts > 0
    assert two.edge_stats is not None and one.edge_stats is not None
    assert two.edge_stats.edges == one.edge_stats.edges
    assert two.worker_cpu > 0 and len(two.worker_peak_mib) == 2
    assert two.times.cpu["features"] > 0  # the workers' stage times are counted
    # The features computed while the rings were found were kept beside the output, then removed.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "one-features.parquet", "one.parquet", "two-features.parquet", "two.parquet"]


def test_a_folder_not_grouped_by_account_is_scored_in_one_process(world: dict,
                                                                  tmp_path: Path) -> None:
    import shutil

    shuffled = tmp_path / "shuffled"
    shutil.copytree(world["tables"], shuffled)
    posts = pq.read_table(shuffled / "posts.parquet")
    pq.write_table(posts.take(list(range(posts.num_rows))[::-1]).replace_schema_metadata(None),
                   shuffled / "posts.parquet")
    notes: list[str] = []

    class Notes(SilentProgress):
        def note(self, message: str) -> None:
            notes.append(message)

    result = run_batch(shuffled, tmp_path / "out.parquet", SPEC,
                       _options(chunk_accounts=400, workers=2, no_rings=True), progress=Notes())
    assert result.runner == "in-process" and result.accounts == ACCOUNTS
    assert any("grouped by account" in n and "one process" in n for n in notes), notes


def test_a_worker_s_input_error_stops_the_run_and_leaves_no_file(world: dict,
                                                                 tmp_path: Path) -> None:
    """A bad value found by a worker (an unknown engagement kind in the last chunk) is the
    same user error as in one process, and the previous output stays."""
    import shutil

    from trueclout.errors import UserError

    broken = tmp_path / "broken"
    shutil.copytree(world["tables"], broken)
    engagements = pq.read_table(broken / "engagements.parquet")
    kinds = engagements.column("kind").to_pylist()
    kinds[-1] = "teleport"
    pq.write_table(engagements.set_column(engagements.schema.get_field_index("kind"), "kind",
                                          pa.array(kinds, engagements.schema.field("kind").type)),
                   broken / "engagements.parquet")
    out = tmp_path / "out.parquet"
    out.write_bytes(b"previous run")
    for workers in (1, 2):
        with pytest.raises(UserError, match="engagements.kind: unknown values.*teleport"):
            run_batch(broken, out, SPEC, _options(chunk_accounts=250, workers=workers))
        assert out.read_bytes() == b"previous run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "out.parquet"]


def test_a_failing_run_leaves_no_file(world: dict, tmp_path: Path) -> None:
    class Exploding:
        def build(self) -> object:
            inner = SPEC.build()

            class Scorer:
                model_name, model_version = inner.model_name, inner.model_version
                calls = 0

                def assess_tables(self, *args: object, **kwargs: object) -> object:
                    Scorer.calls += 1
                    if Scorer.calls == 2:
                        raise RuntimeError("worker lost")
                    return inner.assess_tables(*args, **kwargs)

            return Scorer()

        def __hash__(self) -> int:
            return id(self)

    out = tmp_path / "out.parquet"
    out.write_bytes(b"previous run")
    with pytest.raises(RuntimeError, match="worker lost"):
        run_batch(world["tables"], out, Exploding(), _options(chunk_accounts=300,
                                                              no_rings=True))
    assert out.read_bytes() == b"previous run"
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


def test_assessment_rows_keep_every_contract_field() -> None:
    """A field added to the Assessment contract must get a column (this fails until it does)."""
    from trueclout.assessment import Assessment

    mapped = {"risk", "tactics", "confidence"} | {
        name for name in ASSESSMENT_SCHEMA.names if name in Assessment.model_fields}
    assert set(Assessment.model_fields) <= mapped
    assert pa.types.is_list(ASSESSMENT_SCHEMA.field("reasons").type)
