"""Drift: the training reference, PSI, `trueclout drift` and the service's gauges.

A reference is fitted on one synthetic world; a fresh sample of the same
population must not be flagged, a population whose platforms send a third of
the engagement must be, in the engagement family; the command and the
service's ``/metrics`` must give the same figures for the same accounts.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.service.conftest import TEST_LIMITS, Service, running
from tests.service.doubles import DeterministicTestScorer
from trueclout.cli import main
from trueclout.features.pipeline import compute_features
from trueclout.features.registry import GRAPH_FEATURES
from trueclout.io import write_tables
from trueclout.models.artifact import (
    SHIPPED_DIR,
    TamperedArtifactError,
    attach_reference,
    load_artifact,
)
from trueclout.models.reference import (
    REFERENCE_FILE,
    FeatureBins,
    NoReferenceError,
    Reference,
    population_stability,
    read_reference,
    reference_of,
)
from trueclout.service.analysts.drift import DriftMonitor, DriftWindow, drift_report
from trueclout.service.db import migrate
from trueclout.service.db.engine import Database
from trueclout.service.runtime.app import create_app
from trueclout.settings import Settings, get_settings
from trueclout.tables import tables_to_snapshots
from trueclout.training.sim.world import World, simulate_world

pytestmark = pytest.mark.slow

# Measured (docs/ANALYSTS.md): five fresh 1,200-account samples against a 2,000-account
# reference gave a largest feature PSI of 0.03-0.14 and family means of at most 0.04.
REFERENCE_ACCOUNTS = 2_000
FRESH_ACCOUNTS = 1_200
SHIFTED_ACCOUNTS = 300
SHIFT = {"engagement_scale": 0.3}  # the platforms send a third of the engagement rows


@pytest.fixture(scope="module")
def follower() -> Any:
    return load_artifact(SHIPPED_DIR).follower_model


def features(world: World, follower: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    frame = compute_features(world.tables, audience_scorer=follower)
    return frame.values, frame.names


@pytest.fixture(scope="module")
def reference(follower: Any) -> Reference:
    x, names = features(simulate_world(REFERENCE_ACCOUNTS, seed=101), follower)
    return reference_of(x, names, source="test world, seed 101")


@pytest.fixture(scope="module")
def shifted() -> World:
    return simulate_world(SHIFTED_ACCOUNTS, seed=303, **SHIFT)


def test_psi_is_zero_for_the_reference_itself_and_grows_with_the_shift() -> None:
    values = np.random.default_rng(0).normal(size=20_000)
    bins = FeatureBins.fit("f", "profile", values)
    assert len(bins.edges) == 9 and abs(sum(bins.proportions) - 1) < 1e-9
    assert bins.psi(bins.counts(values)) < 1e-3
    moved = [bins.psi(bins.counts(values + shift)) for shift in (0.1, 0.5, 1.0)]
    assert moved == sorted(moved) and moved[0] < 0.1 < 0.25 < moved[2]
    with_nan = np.where(np.arange(len(values)) % 2 == 0, np.nan, values)
    assert bins.counts(with_nan)[-1] == len(values) // 2  # NaN has its own bin
    assert bins.psi(bins.counts(with_nan)) > 0.25
    assert population_stability(np.array([0.5, 0.5, 0.0]), np.array([0, 0, 0])) != \
        population_stability(np.array([0.5, 0.5, 0.0]), np.array([5, 5, 0]))


def test_values_on_an_edge_fall_in_the_same_bin_as_in_training() -> None:
    values = np.array([0.1, 0.1, 0.1, 0.2, 0.3] * 100, dtype=np.float32)
    bins = FeatureBins.fit("share", "audience", values)
    as_served = np.array([0.1, 0.2, 0.3], dtype=np.float64)  # float64 from the pipeline
    assert list(bins.bin_index(as_served)) == list(bins.bin_index(as_served.astype(np.float32)))


def test_a_fresh_sample_of_the_training_population_is_not_flagged(
    reference: Reference, follower: Any
) -> None:
    x, names = features(simulate_world(FRESH_ACCOUNTS, seed=202), follower)
    report = drift_report(reference, x, names)
    assert report.status != "drifted", [(f.name, f.psi) for f in report.features]
    assert all(f.mean_psi < 0.1 for f in report.families), report.families
    assert max(f.psi for f in report.features) < 0.25
    assert {f.name for f in report.features}.isdisjoint(GRAPH_FEATURES)


def test_a_shifted_population_is_flagged_in_the_family_that_moved(
    reference: Reference, shifted: World, follower: Any
) -> None:
    report = drift_report(reference, *features(shifted, follower))
    assert report.status == "drifted"
    drifted = {f.family for f in report.features if f.status == "drifted"}
    assert drifted == {"engagement"}
    by_family = {f.family: f for f in report.families}
    assert by_family["engagement"].mean_psi > 0.1
    assert max(by_family[f].mean_psi for f in ("audience", "growth", "profile")) < 0.1


@pytest.fixture(scope="module")
def model_with_reference(tmp_path_factory: pytest.TempPathFactory,
                         reference: Reference) -> Path:
    """The shipped model's files with the test world's reference attached (a copy)."""
    folder = tmp_path_factory.mktemp("model") / "with-reference"
    shutil.copytree(SHIPPED_DIR, folder)
    card = attach_reference(folder, reference.to_bytes())
    assert card["version"] == load_artifact(SHIPPED_DIR).version  # the model is unchanged
    return folder


def _without_reference(model: Path, older: Path) -> Path:
    """A copy of ``model`` resealed as a model from before references (its card lists none)."""
    from trueclout.models.artifact import card_digest

    shutil.copytree(model, older)
    card = json.loads((older / "card.json").read_text())
    del card["files"][REFERENCE_FILE]
    card["card_sha256"] = card_digest(card)
    (older / "card.json").write_text(json.dumps(card))
    return older


def test_the_reference_travels_inside_the_artifact_under_its_digest(
    model_with_reference: Path, reference: Reference, tmp_path: Path
) -> None:
    assert read_reference(model_with_reference) == reference
    older = _without_reference(model_with_reference, tmp_path / "older")
    with pytest.raises(NoReferenceError, match="carries no training reference"):
        read_reference(older)
    (model_with_reference / REFERENCE_FILE).write_bytes(reference.to_bytes().replace(b"0", b"1"))
    try:
        with pytest.raises(TamperedArtifactError):
            read_reference(model_with_reference)
    finally:
        (model_with_reference / REFERENCE_FILE).write_bytes(reference.to_bytes())


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    def point(**env: str) -> None:
        for name, value in {"TRUECLOUT_DATA_DIR": str(tmp_path), **env}.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield point
    get_settings.cache_clear()


def test_the_drift_command_on_a_snapshot_set(
    model_with_reference: Path, shifted: World, tmp_path: Path, settings_env: Any,
    capsys: pytest.CaptureFixture[str], reference: Reference, follower: Any,
) -> None:
    settings_env()
    write_tables(shifted.tables, tmp_path / "shifted")
    assert main(["drift", "--data", str(tmp_path / "shifted"), "--model",
                 str(model_with_reference), "--json"]) == 1
    figures = json.loads(capsys.readouterr().out)
    expected = drift_report(reference, *features(shifted, follower))
    assert figures["status"] == "drifted" and figures["n_accounts"] == SHIFTED_ACCOUNTS
    assert {f["name"]: f["psi"] for f in figures["features"]} == pytest.approx(
        {f.name: f.psi for f in expected.features})
    assert main(["drift", "--data", str(tmp_path / "shifted"), "--model",
                 str(model_with_reference)]) == 1
    out, err = capsys.readouterr()
    assert "per family" in out and "engagement" in out
    assert "DRIFTED: the model is scoring a population it was not trained on" in err


def test_the_command_refuses_a_model_without_a_reference(
    model_with_reference: Path, tmp_path: Path, settings_env: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings_env()
    older = _without_reference(model_with_reference, tmp_path / "older")
    (older / REFERENCE_FILE).unlink()
    assert main(["drift", "--data", str(tmp_path), "--model", str(older)]) == 2
    assert "error: no reference: model" in capsys.readouterr().err
    assert main(["drift", "--data", str(tmp_path), "--since", "2026-01-01"]) == 2
    assert "not both" in capsys.readouterr().err


def test_drift_loads_its_model_through_the_one_verifying_loader(
    model_with_reference: Path, tmp_path: Path, reference: Reference
) -> None:
    """A model built for another feature pipeline has no comparable reference: refused."""
    from trueclout.models.artifact import IncompatibleArtifactError, card_digest
    from trueclout.service.analysts.drift import load_model_reference

    loaded, follower = load_model_reference(model_with_reference)
    assert loaded == reference and follower is not None
    other = tmp_path / "other-pipeline"
    shutil.copytree(model_with_reference, other)
    card = json.loads((other / "card.json").read_text())
    card["features"]["registry_version"] = "another"
    card["card_sha256"] = card_digest(card)
    (other / "card.json").write_text(json.dumps(card))
    with pytest.raises(IncompatibleArtifactError, match="registry version"):
        load_model_reference(other)


def test_tables_drift_is_the_report_of_the_tables_features(
    reference: Reference, shifted: World, follower: Any
) -> None:
    from trueclout.service.analysts.drift import tables_drift

    stages: list[str] = []

    class Recorder:
        def start(self, stage: str, total: int | None) -> None:
            stages.append(stage)

        def advance(self, amount: int = 1) -> None:
            pass

        def note(self, line: str) -> None:
            pass

    report = tables_drift(reference, shifted.tables, follower, progress=Recorder())
    expected = drift_report(reference, *features(shifted, follower))
    assert {f.name: f.psi for f in report.features} == pytest.approx(
        {f.name: f.psi for f in expected.features})
    assert stages == [f"computing features of {SHIFTED_ACCOUNTS:,} accounts"]


def _gauges(text: str) -> dict[str, float]:
    pattern = re.compile(r'^trueclout_drift_psi\{family="(\w+)",feature="(\w+)"\} (\S+)$',
                         re.MULTILINE)
    return {m.group(2): float(m.group(3)) for m in pattern.finditer(text)}


def _window(text: str) -> float:
    match = re.search(r"^trueclout_drift_window_accounts (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else -1.0


def test_the_service_publishes_the_same_figures_for_what_it_scored(
    tmp_path: Path, reference: Reference, follower: Any, shifted: World, settings_env: Any,
    capsys: pytest.CaptureFixture[str], model_with_reference: Path,
) -> None:
    monitor = DriftMonitor(reference, follower, window_accounts=SHIFTED_ACCOUNTS)
    documents = [orjson.loads(s.model_dump_json()) for s in tables_to_snapshots(shifted.tables)]
    with serving(tmp_path, monitor) as service:
        _score_all(service, documents)
        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline:
            text = httpx.get(service.base_url + "/metrics").text
            if _window(text) == SHIFTED_ACCOUNTS:
                break
            time.sleep(0.2)
        assert _window(text) == SHIFTED_ACCOUNTS
        gauges = _gauges(text)
        expected = drift_report(reference, *features(shifted, follower))
        assert gauges == pytest.approx({f.name: f.psi for f in expected.features})
        assert 'trueclout_drift_family_psi{family="engagement"}' in text
        settings_env(TRUECLOUT_DATABASE_URL=service.settings.resolved_database_url)
        # The same accounts, read back from the store by the command: the same figures.
        assert main(["drift", "--since", "2000-01-01", "--model", str(model_with_reference),
                     "--json"]) == 1
    stored = json.loads(capsys.readouterr().out)
    assert stored["n_accounts"] == SHIFTED_ACCOUNTS
    assert {f["name"]: f["psi"] for f in stored["features"]} == pytest.approx(gauges)


@contextmanager
def serving(tmp: Path, monitor: DriftMonitor) -> Iterator[Service]:
    """A server (SQLite, the test double) whose drift monitor is ``monitor``."""
    settings = Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'trueclout.db'}",
                        **{**TEST_LIMITS, "max_batch_items": 100,
                           "max_body_bytes": 64 * 1024 * 1024}, drift_refresh_seconds=0.2)
    database = Database.from_settings(settings)
    migrate.upgrade(database.engine)
    scorer = DeterministicTestScorer()
    app = create_app(settings, scorer=scorer, database=database, drift=monitor)
    try:
        with running(app) as base_url:
            yield Service("sqlite", base_url, settings, database, scorer, app)
    finally:
        database.dispose()


def _score_all(service: Service, documents: list[dict[str, Any]]) -> None:
    with service.client(service.new_key("platform")) as client:
        for start in range(0, len(documents), 100):
            response = client.post("/v1/score/batch",
                                   json={"snapshots": documents[start:start + 100]})
            assert response.status_code == 200, response.text[:500]
            assert response.json()["failed"] == 0


def test_the_model_scorer_hands_over_the_features_it_judged(
    tmp_path: Path, reference: Reference, follower: Any, shifted: World,
) -> None:
    """The window binned from the scorer's own feature rows (ring table and all) equals the
    window of the same snapshots featurised again, and no snapshot is queued twice."""
    from trueclout.features.graph.table import detect_rings, save_ring_table
    from trueclout.service.analysts.drift import ObservingScorer
    from trueclout.service.scoring.model_scorer import ModelScorer
    from trueclout.service.scoring.ring_lookup import RingTableLookup

    rings = save_ring_table(detect_rings(shifted.tables), tmp_path / "rings.parquet")
    scorer = ModelScorer(load_artifact(SHIPPED_DIR), RingTableLookup(rings))
    handed = DriftMonitor(reference, follower, window_accounts=SHIFTED_ACCOUNTS)
    again = DriftMonitor(reference, follower, window_accounts=SHIFTED_ACCOUNTS,
                         pending_accounts=SHIFTED_ACCOUNTS, pending_rows=10**9)
    observing = ObservingScorer(scorer, handed)
    snapshots = list(tables_to_snapshots(shifted.tables))
    observing.assess_many(snapshots[:100])
    for snapshot in snapshots[100:110]:
        observing.assess(snapshot, scored_at=snapshot.observed_at)
    observing.assess_many(snapshots[110:])
    again.observe(snapshots)
    assert not handed.pending  # rows were handed over: nothing left to featurise
    assert handed.refresh() == again.refresh() == SHIFTED_ACCOUNTS
    np.testing.assert_array_equal(handed.window.counts, again.window.counts)
    assert handed.window.figures() == again.window.figures()


def test_handed_over_rows_beyond_a_window_make_room(reference: Reference) -> None:
    monitor = DriftMonitor(reference, None, window_accounts=5)
    names = [f.name for f in reference.features]
    for i in range(4):
        monitor.observe_features(np.full((3, len(names)), float(i)), names)
    kept = [values[0, 0] for values, _ in monitor.pending_features]
    assert kept == [2.0, 3.0]  # the oldest calls left; the window's 5 rows still covered
    assert monitor.refresh() == 6
    assert monitor.window.filled == 5


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 12),
       batches=st.lists(st.integers(0, 30), min_size=1, max_size=8),
       seed=st.integers(0, 2**16))
def test_the_window_counts_exactly_its_last_accounts(size: int, batches: list[int],
                                                     seed: int) -> None:
    """Added in batches of any length, the window holds the bins of the last ``size`` rows."""
    reference = reference_of(np.random.default_rng(1).normal(size=(400, 3)), ("a", "b", "c"),
                             source="three normal features")
    window = DriftWindow(reference, [0, 2], size)
    rng = np.random.default_rng(seed)
    added = []
    for length in batches:
        bins = np.column_stack([rng.integers(0, reference.features[j].n_bins, length)
                                for j in (0, 2)])
        window.add(bins)
        added.append(bins)
    last = np.concatenate(added)[-size:]
    assert window.filled == len(last)
    expected = [np.bincount(last[:, k], minlength=reference.features[j].n_bins)
                for k, j in enumerate((0, 2))]
    for got, want in zip(window.feature_counts(), expected, strict=True):
        np.testing.assert_array_equal(got, want)
