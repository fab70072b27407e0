"""`trueclout batch` on a real local Dask cluster equals the in-process run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.service.batch.same_output import assert_same_run
from trueclout.io import write_tables
from trueclout.models.artifact import SHIPPED_DIR
from trueclout.service.batch.chunk import ArtifactScorerSpec
from trueclout.service.batch.on_dask import run_batch_on_dask
from trueclout.service.batch.run import BatchOptions, run_batch

pytestmark = pytest.mark.dask

SPEC = ArtifactScorerSpec(str(SHIPPED_DIR))


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trueclout.training.sim.world import simulate_world

    folder = tmp_path_factory.mktemp("dask-batch") / "tables"
    write_tables(simulate_world(400, seed=21, followers_sample=10, engagement_scale=0.05,
                                history_days=60).tables, folder)
    return folder


@pytest.mark.slow
def test_dask_run_equals_in_process_run(tables: Path, tmp_path: Path,
                                        dask_scheduler: str) -> None:
    options = BatchOptions(chunk_accounts=90, run_id="same-run",
                           scored_at=datetime(2026, 6, 2, tzinfo=UTC),
                           features_out=tmp_path / "features-local.parquet")
    local = run_batch(tables, tmp_path / "local.parquet", SPEC, options)
    on_dask = run_batch_on_dask(
        tables, tmp_path / "dask.parquet", SPEC,
        BatchOptions(**{**options.__dict__, "features_out": tmp_path / "features-dask.parquet"}),
        scheduler=dask_scheduler)
    assert on_dask.runner == "dask (2 workers)"
    assert on_dask.accounts == local.accounts == 400
    assert on_dask.ring_accounts == local.ring_accounts > 0
    # Five partitions, every account once, rows in input order, values identical.
    assert pq.ParquetFile(tmp_path / "dask.parquet").num_row_groups == 5
    assert_same_run(tmp_path / "dask.parquet", tmp_path / "local.parquet",
                    tmp_path / "features-dask.parquet", tmp_path / "features-local.parquet")
    assert on_dask.edge_stats is not None
    assert on_dask.edge_stats.edges == local.edge_stats.edges
    assert on_dask.worker_cpu > 0


def test_a_folder_not_grouped_by_account_is_refused_with_advice(tables: Path, tmp_path: Path,
                                                                dask_scheduler: str) -> None:
    import shutil

    from trueclout.errors import UserError

    shuffled = tmp_path / "shuffled"
    shutil.copytree(tables, shuffled)
    posts = pq.read_table(shuffled / "posts.parquet")
    pq.write_table(posts.take(list(range(posts.num_rows))[::-1]).replace_schema_metadata(None),
                   shuffled / "posts.parquet")
    with pytest.raises(UserError, match="trueclout convert"):
        run_batch_on_dask(shuffled, tmp_path / "out.parquet", SPEC,
                          BatchOptions(no_rings=True), scheduler=dask_scheduler)
    assert not (tmp_path / "out.parquet").exists()
