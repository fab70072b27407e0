"""`trueclout train BASE --from-feedback EXPORT`: splitting, weighting, comparing, proposing.

The run at the bottom builds the situation feedback exists for: the active
model was trained on a world without follow/unfollow churn, so it misses the
churn accounts of a second world; analysts label that world; retraining on
the labels must fix those misses on accounts it never trained on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from trueclout.cli import main
from trueclout.models.artifact import verify_files
from trueclout.models.registry import ModelRegistry
from trueclout.settings import get_settings
from trueclout.training.data.labelled import TrainingSet, open_labelled
from trueclout.training.feedback.compare import Comparison, Judgement
from trueclout.training.feedback.retrain import (
    check_weight,
    combine,
    grouped_holdout,
    repeated,
    subset,
)
from trueclout.training.sim.params import DEFAULT_KIND_WEIGHTS
from trueclout.training.sim.world import write_world

# 60 trees: with fewer, the base-holdout figures of two models of one world differ by
# more than the promotion tolerance from noise alone.
SMALL = ["--trees", "60", "--folds", "2", "--forest-trees", "5", "--quiet"]


def training_set(groups: list[str], positives: list[int], kind: str = "steady") -> TrainingSet:
    n = len(groups)
    return TrainingSet(
        x=np.arange(n * 2, dtype=np.float32).reshape(n, 2), feature_names=("a", "b"),
        account_ids=np.array([f"acct{i}" for i in range(n)], dtype=object),
        labels={"bought_followers": np.array(positives, dtype=np.int8),
                "engagement_ring": np.zeros(n, dtype=np.int8),
                "growth_burst": np.zeros(n, dtype=np.int8)},
        groups=np.array(groups, dtype=object), context={"kind": np.full(n, kind, dtype=object)})


def test_the_holdout_keeps_groups_whole_and_holds_out_both_classes() -> None:
    # 10 manipulated accounts in two purchase lots, 30 genuine accounts on their own.
    groups = ["lot1"] * 5 + ["lot2"] * 5 + [f"account:{i}" for i in range(30)]
    data = training_set(groups, [1] * 10 + [0] * 30)
    held = grouped_holdout(data, 0.3, seed=0, what="test")
    for group in set(groups):
        members = held[data.groups == group]
        assert members.all() or not members.any(), group
    assert 0 < data.target("overall")[held].sum() < 10  # one lot held out, one trained on
    assert 0.2 < held.mean() < 0.45
    with pytest.raises(Exception, match="at least 2 are needed"):
        grouped_holdout(training_set(["one", "one"], [0, 1]), 0.3, seed=0, what="x")


def test_weighting_repeats_rows_and_combining_fills_missing_context() -> None:
    feedback = training_set(["g1", "g2"], [1, 0], kind="confirmed_manipulation")
    heavy = repeated(feedback, 3)
    assert len(heavy) == 6 and list(heavy.groups) == ["g1"] * 3 + ["g2"] * 3
    base = training_set(["b"], [0])
    base.context = {}
    both = combine([base, heavy], source="s", digest="d")
    assert len(both) == 7 and list(both.context["kind"][:2]) == ["unknown",
                                                                  "confirmed_manipulation"]
    assert both.labels["bought_followers"].sum() == 3
    assert len(subset(both, both.groups == "g2")) == 3
    for bad in (0, 101):
        with pytest.raises(Exception, match="--feedback-weight"):
            check_weight(bad)


def judged(label: str, manipulated: bool, active: str, candidate: str) -> Judgement:
    p = {"low": 0.1, "elevated": 0.85, "high": 0.99}
    return Judgement("a", label, manipulated, p[active], active, p[candidate], candidate)


def test_a_misjudgement_is_a_disagreement_at_the_flag() -> None:
    assert judged("confirmed_manipulation", True, "low", "high").change == "fixed"
    assert judged("confirmed_manipulation", True, "elevated", "elevated").change == "still wrong"
    assert judged("false_positive", False, "high", "elevated").change == "fixed"
    assert judged("confirmed_genuine", False, "low", "high").change == "new error"
    assert judged("confirmed_genuine", False, "elevated", "low").change == "right under both"


@pytest.mark.parametrize(("rows", "worse", "proposed"), [
    ([("low", "high"), ("low", "low")], [], True),  # one miss fixed
    ([("low", "high"), ("low", "low")], ["overall PR-AUC"], False),  # worse on the base data
    ([("high", "high"), ("low", "low")], [], False),  # nothing to improve
    ([("low", "high"), ("high", "low")], [], False),  # one fixed, one new: a tie
])
def test_promotion_is_proposed_only_for_fewer_errors_without_a_loss_elsewhere(
    rows: list[tuple[str, str]], worse: list[str], proposed: bool
) -> None:
    feedback = [judged("confirmed_manipulation", True, a, c) for a, c in rows]
    comparison = Comparison(active={"version": "a"}, candidate={"version": "c"},
                            feedback=feedback, base=[], base_criteria=[], base_worse=worse,
                            settings={"base_tolerance": 0.01})
    comparison.decide()
    assert comparison.proposed is proposed
    assert comparison.to_json()["promotion_proposed"] is proposed
    assert len(comparison.reasons) == 2


# ---------------------------------------------------------------------------------------------
# A whole run, through the command


def label_as_analysts(world: Path) -> None:
    """Turn a world's ground truth into what a feedback export holds."""
    labels = pq.read_table(world / "labels.parquet")
    manipulated = pc.greater(pc.add(pc.add(labels["bought_followers"], labels["engagement_ring"]),
                                    labels["growth_burst"]), 0)
    kind = pc.if_else(manipulated, "confirmed_manipulation", "confirmed_genuine")
    pq.write_table(pa.table({"account_id": labels["account_id"],
                             **{t: labels[t] for t in ("bought_followers", "engagement_ring",
                                                       "growth_burst")},
                             "group_id": pa.nulls(labels.num_rows, pa.string()),
                             "kind": kind, "label_source": pa.array(["analyst"] *
                                                                    labels.num_rows)}),
                   world / "labels.parquet")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("feedback-retrain")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("TRUECLOUT_DATA_DIR", str(work / "data"))
    monkeypatch.chdir(work)
    get_settings.cache_clear()
    no_churn = {k: v for k, v in DEFAULT_KIND_WEIGHTS.items() if "churn" not in k}
    write_world(work / "base", 400, 11, kind_weights=no_churn)
    # The model in service learned from a world of its own: had it seen the base world, the
    # base holdout would be in its training data and the comparison would favour it.
    write_world(work / "served", 400, 13, kind_weights=no_churn)
    write_world(work / "export", 90, 12, kind_weights={"churn": 0.5, "steady": 0.3,
                                                       "community": 0.2})
    label_as_analysts(work / "export")
    assert main(["train", str(work / "served"), "--out", str(work / "m0"), "--no-report",
                 "--follower-model", "default", *SMALL]) == 0
    registry = ModelRegistry(get_settings().resolved_models_dir)
    registry.promote(registry.add(work / "m0"), forced=True, note="the model in service")
    yield {"work": work, "registry": registry,
           "code": main(["train", str(work / "base"), "--from-feedback", str(work / "export"),
                         "--feedback-weight", "3", "--no-report", *SMALL])}
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.slow
def test_retraining_fixes_the_misses_on_held_out_feedback_and_proposes_promotion(
    run: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run["code"] == 0
    [folder] = list(run["work"].glob("feedback-comparison-*"))
    doc = json.loads((folder / "comparison.json").read_text())
    held = doc["feedback_holdout"]
    assert held["active_errors"] > 0 and held["fixed"] > 0
    assert held["candidate_errors"] < held["active_errors"]
    fixed = [a for a in held["accounts_detail"] if a["change"] == "fixed"]
    missed = [a for a in fixed if a["label"] == "confirmed_manipulation"]  # the churn misses
    assert missed and all(a["active_level"] != "high" == a["candidate_level"] for a in missed)
    # A genuine account the served model (a small one) wrongly held `high` may be fixed too.
    assert all(a["active_level"] == "high" != a["candidate_level"]
               for a in fixed if a["label"] == "confirmed_genuine")
    assert doc["promotion_proposed"] is True and doc["base_holdout"]["worse"] == []
    html = (folder / "comparison.html").read_text()
    assert "Promotion proposed" in html and 'src="data:image/png;base64,' in html
    assert fixed[0]["account_id"] in html
    assert (folder / "feedback_holdout" / "report.html").is_file()
    assert (folder / "base_holdout" / "report.json").is_file()
    heldout = open_labelled(folder / "heldout_feedback")
    assert sorted(heldout.labels.column("account_id").to_pylist()) == sorted(
        a["account_id"] for a in held["accounts_detail"])
    version = doc["candidate"]["version"]
    card = verify_files(run["registry"].models_dir / version)
    assert card["training"]["feedback"]["weight"] == 3
    assert card["training"]["feedback"]["heldout_accounts"] == held["accounts"]
    assert "report/feedback/comparison.json" in card["files"]
    assert "reference/features.json" in card["files"]
    assert run["registry"].active_version() != version  # promotion stays the analyst's call


@pytest.mark.slow
def test_bad_requests_are_refused_before_any_work(
    run: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    work = run["work"]
    capsys.readouterr()
    assert main(["train", str(work / "base"), "--from-feedback", str(work / "export"),
                 "--out", str(work / "x"), *SMALL]) == 2
    assert "--out does not combine with --from-feedback" in capsys.readouterr().err
    assert main(["train", str(work / "base"), "--from-feedback", str(work / "export"),
                 "--feedback-weight", "0", *SMALL]) == 2
    assert main(["train", str(work / "base"), "--from-feedback", str(work / "nowhere"),
                 *SMALL]) == 2
    assert "nowhere" in capsys.readouterr().err
    assert not (work / "x").exists()
