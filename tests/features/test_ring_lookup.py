"""Looking ring rows up: an account the detectors could not judge reads as unknown."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tests.features.graph.test_table import slow_friends
from trueclout.features.families.rings import VERDICT_COLUMNS, lookup_graph
from trueclout.features.graph.table import detect_rings
from trueclout.features.registry import GRAPH_COLUMNS


def test_unjudged_rows_read_as_unknown_verdicts_and_keep_their_facts() -> None:
    table = detect_rings(slow_friends())
    accounts = pa.array(["friend0", "fan0", "nobody"])
    got = lookup_graph(table, accounts, GRAPH_COLUMNS)
    for c in VERDICT_COLUMNS:
        assert np.isnan(got[c][0]), c  # friend0: slow two-way engagement, not judged
    for c in ("ring_block_size", "lockstep_group_size", "lockstep_score"):
        assert got[c][1] == 0, c  # fan0: judged, and no ring
    assert got["mutual_core_size"][0] == 0  # a fact whatever the timing: kept
    assert all(np.isnan(got[c][2]) for c in GRAPH_COLUMNS)  # no row: unknown, as ever


def test_a_table_without_the_judged_column_reads_as_judged() -> None:
    table = detect_rings(slow_friends()).drop_columns(["ring_judged"])
    got = lookup_graph(table, pa.array(["friend0"]), GRAPH_COLUMNS)
    assert got["ring_block_size"][0] == 0 and got["lockstep_group_size"][0] == 0


def test_the_confidence_notes_say_the_table_could_not_tell() -> None:
    """A simulated genuine community: covered by the table, not judged, and told so."""
    from trueclout.features.pipeline import compute_features
    from trueclout.service.scoring.confidence import UNJUDGED_RING_NOTE, judge_confidence
    from trueclout.training.sim.world import simulate_world

    world = simulate_world(120, seed=5, kind_weights={"community": 0.5, "steady": 0.5})
    table = detect_rings(world.tables)
    frame = compute_features(world.tables, graph=table)
    kinds = dict(zip(world.labels.column("account_id").to_pylist(),
                     world.labels.column("kind").to_pylist(), strict=True))
    judged = dict(zip(table.column("account_id").to_pylist(),
                      table.column("ring_judged").to_pylist(), strict=True))
    every = np.ones(len(frame), dtype=bool)
    notes = judge_confidence(frame, has_raw_score=every).notes
    bare = judge_confidence(compute_features(world.tables), has_raw_score=every).notes
    unjudged = [i for i, a in enumerate(frame.account_ids) if judged.get(a) is False]
    assert "community" in {kinds[frame.account_ids[i]] for i in unjudged}
    for i in unjudged:
        assert UNJUDGED_RING_NOTE in notes[i]
        assert not any("not looked up" in n for n in notes[i])
        assert any("not looked up" in n for n in bare[i])


def test_graph_columns_added_later_equal_the_frame_computed_with_the_table() -> None:
    """What a batch run does (features while the rings are found, the table's rows later)
    gives the frame computed with the table, and the frame it started from is unchanged."""
    from trueclout.features.pipeline import compute_features, with_graph
    from trueclout.features.registry import GRAPH_FEATURES
    from trueclout.training.sim.world import simulate_world

    world = simulate_world(150, seed=8)
    table = detect_rings(world.tables)
    before = compute_features(world.tables)
    after = with_graph(before, table)
    together = compute_features(world.tables, graph=table)
    np.testing.assert_array_equal(after.values, together.values)
    assert after.names == together.names
    graph_columns = [before.names.index(name) for name in GRAPH_FEATURES]
    assert np.isnan(before.values[:, graph_columns]).all()
    assert (~np.isnan(after.values[:, graph_columns])).any()

