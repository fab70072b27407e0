"""The registry: which model is active, promotion, rollback, and the shipped fallback."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from tests.models.test_artifact import TOY_CONFIG, toy_model, toy_training_set
from trueclout.errors import UserError
from trueclout.models.registry import STATE_FILE, ModelRegistry


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("trained")
    data = toy_training_set(n=600)
    first = toy_model(root / "first", data)
    second = toy_model(root / "second", data, config=replace(TOY_CONFIG, trees=10))
    assert first.card["version"] != second.card["version"]
    return first.path, second.path


@pytest.fixture()
def registry(tmp_path: Path, two_models: tuple[Path, Path]) -> ModelRegistry:
    shipped = shutil.copytree(two_models[0], tmp_path / "shipped")
    return ModelRegistry(tmp_path / "models", shipped_dir=shipped)


def test_empty_registry_falls_back_to_the_shipped_model(registry: ModelRegistry) -> None:
    assert registry.active_version() is None
    assert registry.active() == registry.shipped_dir
    entries = registry.list()
    assert [e.shipped for e in entries] == [True] and entries[0].active


def test_no_model_anywhere_says_what_to_do(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "models", shipped_dir=tmp_path / "nothing")
    with pytest.raises(UserError, match="make model"):
        registry.active()


def test_promote_and_rollback(registry: ModelRegistry, two_models: tuple[Path, Path]) -> None:
    first = registry.add(two_models[0])
    second = registry.add(two_models[1])
    assert registry.add(two_models[1]) == second  # adding again changes nothing
    registry.promote(first, note="first")
    assert registry.active() == registry.models_dir / first
    event = registry.promote(second, forced=True, evidence={"why": "test"})
    assert event["previous"] == first and event["forced"]
    listed = {e.version: e.active for e in registry.list() if not e.shipped}
    assert listed == {first: False, second: True}
    assert registry.rollback()["version"] == first
    assert registry.active_version() == first
    assert registry.rollback()["version"] is None  # back to the shipped default
    assert registry.active() == registry.shipped_dir
    with pytest.raises(UserError, match="nothing to roll back"):
        registry.rollback()
    actions = [e["action"] for e in registry.history()]
    assert actions == ["promote", "promote", "rollback", "rollback"]


def test_promoting_the_active_model_again_is_refused(registry: ModelRegistry,
                                                     two_models: tuple[Path, Path]) -> None:
    version = registry.add(two_models[0])
    registry.promote(version)
    with pytest.raises(UserError, match="already the active model"):
        registry.promote(version)


def test_a_damaged_model_is_never_made_active(registry: ModelRegistry,
                                              two_models: tuple[Path, Path]) -> None:
    version = registry.add(two_models[0])
    (registry.models_dir / version / "account" / "calibration.json").write_text("{}")
    with pytest.raises(UserError, match="does not match its sha256"):
        registry.promote(version)
    assert registry.active_version() is None


def test_resolve_by_version_prefix_path_and_keyword(registry: ModelRegistry,
                                                    two_models: tuple[Path, Path]) -> None:
    version = registry.add(two_models[0])
    assert registry.resolve(version[:6]) == registry.models_dir / version
    assert registry.resolve(str(two_models[1])) == two_models[1]
    assert registry.resolve("default") == registry.shipped_dir
    assert registry.resolve("active") == registry.shipped_dir
    with pytest.raises(UserError, match="no model 'zzz'"):
        registry.resolve("zzz")


def test_state_is_plain_json_and_survives_a_new_registry(registry: ModelRegistry,
                                                         two_models: tuple[Path, Path]) -> None:
    version = registry.add(two_models[0])
    registry.promote(version)
    state = json.loads((registry.models_dir / STATE_FILE).read_text())
    assert state["active"] == version and state["stack"] == [None]
    again = ModelRegistry(registry.models_dir, shipped_dir=registry.shipped_dir)
    assert again.active() == registry.models_dir / version
    assert not list(registry.models_dir.glob("*.partial"))


def test_unreadable_state_is_a_clear_error(registry: ModelRegistry) -> None:
    registry.models_dir.mkdir(parents=True)
    (registry.models_dir / STATE_FILE).write_text("{not json")
    with pytest.raises(UserError, match="unreadable registry state"):
        registry.active()


def test_a_staged_model_is_committed_by_one_rename_and_a_copy_it_holds_is_discarded(
        registry: ModelRegistry, two_models: tuple[Path, Path]) -> None:
    with registry.staging() as folder:
        assert folder.parent == registry.models_dir and folder.name.startswith(".")
        shutil.copytree(two_models[0], folder)
        committed = registry.commit(folder)
        assert not committed.existed and not folder.exists()
    assert committed.path == registry.models_dir / committed.version
    with registry.staging() as folder:
        shutil.copytree(two_models[0], folder)
        again = registry.commit(folder)
        assert again.existed and again.version == committed.version
    assert [p.name for p in registry.models_dir.iterdir()] == [committed.version]
    assert registry.add(two_models[0]) == committed.version


def test_a_failed_staging_leaves_nothing_behind(registry: ModelRegistry,
                                                two_models: tuple[Path, Path]) -> None:
    with pytest.raises(RuntimeError), registry.staging() as folder:
        shutil.copytree(two_models[0], folder)
        raise RuntimeError("training failed")
    assert list(registry.models_dir.iterdir()) == []
