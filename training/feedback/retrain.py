"""Retraining on analysts' feedback: `trueclout train BASE --from-feedback EXPORT`.

The loop an analyst closes: the service misjudged some accounts, analysts
labelled them (`POST /v1/feedback`), `trueclout feedback export` wrote those
labels with the scored snapshots as a labelled set, and this module:

1. splits the feedback accounts into a training part and a **held-out** part
   (``--holdout-share``, grouped by ``group_id`` so a ring never sits on both
   sides), and holds out ``BASE_HOLDOUT_SHARE`` of the base data the same way;
2. trains a candidate on the rest of the base data plus the feedback's
   training part, each feedback account counting ``--feedback-weight`` times
   (its row is repeated: the learners take no sample weights, and for
   XGBoost's gradient sums, logistic regression and the threshold choice a
   repeated row is exactly an integer weight; copies share the account's
   group, so cross-validation keeps them together);
3. scores the held-out feedback and the held-out base data with the active
   model and with the candidate, and lists, account by account, which
   misjudgements the candidate **fixed** and which **new** ones it made.  A
   misjudgement is a disagreement at the flag (risk level ``high``): a
   confirmed manipulation not flagged, or a genuine account (false positive,
   confirmed genuine) flagged;
4. proposes promotion only when the candidate misjudges fewer held-out
   feedback accounts **and** no criterion of ``models promote`` gets worse
   on the base holdout by more than ``BASE_TOLERANCE``.  The candidate is
   registered either way; promoting it stays the analyst's explicit
   `trueclout models promote`.

The comparison (``comparison.html`` with plots, ``comparison.json``, the two
evaluation reports and the held-out feedback as a labelled set to promote
with) is written to ``feedback-comparison-VERSION/`` and its two summary
files are attached to the candidate's own report.

The active model may have been trained on the base data, so on the base
holdout it is judged on data it may have seen: the comparison errs on the
side of the model already in service.
"""

from __future__ import annotations

import hashlib
import shutil
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from trueclout.errors import UserError
from trueclout.files import write_files
from trueclout.models.account_model import FLAG_LEVEL, OVERALL, TACTICS
from trueclout.models.follower_model import same_follower_model
from trueclout.training.data.labelled import TrainingSet
from trueclout.training.feedback.compare import (
    COMPARISON_HTML,
    COMPARISON_JSON,
    Comparison,
    judgements,
    render_comparison,
)

if TYPE_CHECKING:
    from trueclout.models.registry import ModelRegistry

DEFAULT_HOLDOUT_SHARE = 0.3
DEFAULT_FEEDBACK_WEIGHT = 5
MAX_FEEDBACK_WEIGHT = 100
BASE_HOLDOUT_SHARE = 0.2
BASE_TOLERANCE = 0.01
HELDOUT_DATA = "heldout_feedback"


# ---------------------------------------------------------------------------------------------
# Splitting and combining training sets


def grouped_holdout(data: TrainingSet, share: float, seed: int, what: str) -> np.ndarray:
    """A boolean mask of held-out rows: about ``share`` of them, whole groups only.

    One fold of a stratified grouped k-fold split (k = 1 / share): groups stay
    whole and each tactic mix is held out in proportion, so a holdout never
    ends up with no manipulated account because they sit in a few large groups.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(np.unique(data.groups))
    if n_groups < 2:
        raise UserError(f"{what}: {n_groups} account group(s); at least 2 are needed to hold "
                        "some out (label more accounts)")
    folds = min(n_groups, max(2, round(1 / share)))
    pattern = sum(data.target(t).astype(np.int64) << i for i, t in enumerate(TACTICS))
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rare tactic mixes: fewer than k groups
        _, test = next(splitter.split(data.x, pattern, data.groups))
    mask = np.zeros(len(data), dtype=bool)
    mask[test] = True
    return mask


def subset(data: TrainingSet, mask: np.ndarray, source: str | None = None) -> TrainingSet:
    """The rows of ``data`` where ``mask`` is true (or at the given positions)."""
    return replace(
        data, x=data.x[mask], account_ids=data.account_ids[mask],
        labels={t: v[mask] for t, v in data.labels.items()}, groups=data.groups[mask],
        context={k: v[mask] for k, v in data.context.items()},
        source=source if source is not None else data.source)


def prefixed(data: TrainingSet, prefix: str) -> TrainingSet:
    """Account ids and groups marked with ``prefix``, so two sets never share one."""
    return replace(data, account_ids=np.array([prefix + str(a) for a in data.account_ids],
                                              dtype=object),
                   groups=np.array([prefix + str(g) for g in data.groups], dtype=object))


def combine(parts: list[TrainingSet], *, source: str, digest: str) -> TrainingSet:
    """Rows of several training sets (same features) as one; missing context is "unknown"."""
    names = parts[0].feature_names
    if any(tuple(p.feature_names) != tuple(names) for p in parts):
        raise ValueError("training sets with different features cannot be combined")
    keys = set().union(*(p.context for p in parts))
    context = {}
    for key in keys:
        context[key] = np.concatenate([
            p.context[key] if key in p.context else np.full(len(p), "unknown", dtype=object)
            for p in parts])
    table_rows = {k: sum(p.table_rows.get(k, 0) for p in parts) for k in parts[0].table_rows}
    return TrainingSet(
        x=np.concatenate([p.x for p in parts]), feature_names=names,
        account_ids=np.concatenate([p.account_ids for p in parts]),
        labels={t: np.concatenate([p.labels[t] for p in parts]) for t in TACTICS},
        groups=np.concatenate([p.groups for p in parts]), context=context, source=source,
        digest=digest, table_rows=table_rows)


def check_weight(weight: int) -> int:
    if not 1 <= weight <= MAX_FEEDBACK_WEIGHT:
        raise UserError(f"--feedback-weight must be a whole number from 1 to "
                        f"{MAX_FEEDBACK_WEIGHT} (how many base accounts one label counts as), "
                        f"not {weight}")
    return weight


# ---------------------------------------------------------------------------------------------
# Writing the held-out feedback as a labelled set


def write_heldout(export: Path, account_ids: list[str], out: Path) -> None:
    """The held-out accounts of a feedback export as a labelled set of their own."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from trueclout.io import LABELS_FILE, read_tables, write_tables
    from trueclout.tables import SnapshotTables

    wanted = pa.array(account_ids, pa.string())
    tables = read_tables(export)
    kept = SnapshotTables(**{name: table.filter(pc.is_in(table.column("account_id"),
                                                         value_set=wanted))
                             for name, table in tables.items()})
    write_tables(kept, out)
    labels = pq.read_table(Path(export) / LABELS_FILE)
    pq.write_table(labels.filter(pc.is_in(labels.column("account_id"), value_set=wanted)),
                   out / LABELS_FILE)


def flag_threshold(evaluation: Any) -> float | None:
    primary = evaluation.summary["primary"]
    th = evaluation.thresholds[primary][OVERALL].get(FLAG_LEVEL)
    return None if th is None else th.threshold


def fresh_folder(path: Path) -> Path:
    """``path`` emptied for new output (an older comparison of the same model is replaced)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def repeated(data: TrainingSet, times: int) -> TrainingSet:
    """Every row ``times`` times: an integer sample weight the learners honour exactly."""
    return subset(data, np.repeat(np.arange(len(data)), times))


# ---------------------------------------------------------------------------------------------
# The whole run


@dataclass
class FeedbackRetrain:
    """What `trueclout train BASE --from-feedback EXPORT` was asked to do."""

    base: Path
    export: Path
    labels: Path | None
    config: Any  # fit.TrainingConfig
    name: str
    weight: int = DEFAULT_FEEDBACK_WEIGHT
    holdout_share: float = DEFAULT_HOLDOUT_SHARE
    thin_share: float = 0.0
    hide_rings: float = 0.5
    ring_table: Path | None = None
    no_rings: bool = False
    write_report: bool = True


@dataclass
class RetrainResult:
    version: str
    path: Path
    comparison: Comparison
    comparison_dir: Path


class _Sets:
    """Feature sets of the base data and the feedback, per follower component."""

    def __init__(self, job: FeedbackRetrain, progress: Any) -> None:
        from trueclout.training.data.labelled import Thinning, open_labelled

        self.job = job
        self.progress = progress
        self.base = open_labelled(job.base, job.labels)
        self.feedback = open_labelled(job.export)
        self.thinning = Thinning(job.thin_share, seed=job.config.seed, hide_rings=job.hide_rings)
        self.base_graph = self._graph(self.base, job.ring_table, "base data")
        self.feedback_graph = self._graph(self.feedback, None, "feedback")

    def _graph(self, labelled: Any, ring_table: Path | None, what: str) -> Any:
        from trueclout.training.data.labelled import rings_for

        return rings_for(labelled, precomputed=ring_table, no_rings=self.job.no_rings,
                         progress=self.progress, stage=f"finding rings in the {what}")

    def build(self, follower: Any, what: str) -> tuple[TrainingSet, TrainingSet]:
        from trueclout.training.data.labelled import build_training_set, data_digest

        out = []
        for labelled, graph, thinning, label in (
                (self.base, self.base_graph, self.thinning, "base data"),
                (self.feedback, self.feedback_graph, None, "feedback")):
            self.progress.start(f"computing features of the {label}{what}", labelled.n_accounts)
            out.append(build_training_set(labelled, follower_model=follower, graph=graph,
                                          on_progress=self.progress.advance,
                                          digest=data_digest(labelled), thinning=thinning))
        return out[0], out[1]


def retrain_from_feedback(job: FeedbackRetrain, *, follower: Any, follower_note: dict,
                          registry: ModelRegistry, progress: Any,
                          comparison_dir: Path | None = None) -> RetrainResult:
    """Train, register and compare a candidate; see the module docstring for each step."""
    from trueclout.files import utc_now
    from trueclout.models.artifact import load_artifact, running_features
    from trueclout.training.fit.account import train_artifact

    check_weight(job.weight)
    if not 0 < job.holdout_share < 1:
        raise UserError(f"--holdout-share must be between 0 and 1, not {job.holdout_share}")
    active = load_artifact(registry.active(), nthread=job.config.threads)
    sets = _Sets(job, progress)
    base_set, feedback_set = sets.build(follower, "")
    if same_follower_model(active.follower_model, follower):
        base_active, feedback_active = base_set, feedback_set
    else:
        base_active, feedback_active = sets.build(active.follower_model,
                                                  f" for {active.version}")
    seed = job.config.seed
    base_out = grouped_holdout(base_set, BASE_HOLDOUT_SHARE, seed, str(job.base))
    feedback_out = grouped_holdout(feedback_set, job.holdout_share, seed,
                                   str(job.export))
    feedback_train = prefixed(subset(feedback_set, ~feedback_out), "feedback:")
    combined = combine(
        [subset(base_set, ~base_out), repeated(feedback_train, job.weight)],
        source=f"{job.base} (less a {BASE_HOLDOUT_SHARE:.0%} holdout) + feedback {job.export} "
               f"(less a {job.holdout_share:.0%} holdout, weight {job.weight})",
        digest=hashlib.sha256(f"{base_set.digest}\0{feedback_set.digest}\0{job.weight}\0"
                              f"{job.holdout_share}\0{seed}".encode()).hexdigest())
    names, registry_version = running_features()
    with registry.staging() as folder:
        train_artifact(
            combined, job.config, folder, name=job.name, registry_version=registry_version,
            follower_model=follower, write_report=job.write_report, progress=progress,
            created_at=utc_now(whole_seconds=True), overwrite=False,
            extra_training={"follower_model": follower_note, "feedback": {
                "export": str(job.export), "export_digest": feedback_set.digest,
                "weight": job.weight, "holdout_share": job.holdout_share,
                "trained_accounts": int(len(feedback_train)),
                "heldout_accounts": int(feedback_out.sum()),
                "base_holdout_share": BASE_HOLDOUT_SHARE}})
        committed = registry.commit(folder)
    version, final = committed.version, committed.path
    candidate = load_artifact(final, nthread=job.config.threads)
    progress.start("comparing the candidate with the active model", None)
    comparison, files = compare_models(
        active, candidate, feedback=(subset(feedback_active, feedback_out),
                                     subset(feedback_set, feedback_out)),
        base=(subset(base_active, base_out), subset(base_set, base_out)), job=job,
        trained_feedback=len(feedback_train))
    folder = fresh_folder(comparison_dir or Path(f"feedback-comparison-{version}"))
    write_files(folder, files)
    write_heldout(job.export, [str(a) for a in feedback_set.account_ids[feedback_out]],
                  folder / HELDOUT_DATA)
    from trueclout.models.artifact import attach_reports

    attach_reports(final, {f"report/feedback/{name}": files[name]
                           for name in (COMPARISON_HTML, COMPARISON_JSON)})
    return RetrainResult(version, final, comparison, folder)


def compare_models(active: Any, candidate: Any, *, feedback: tuple[TrainingSet, TrainingSet],
                   base: tuple[TrainingSet, TrainingSet], job: FeedbackRetrain,
                   trained_feedback: int) -> tuple[Comparison, dict[str, bytes]]:
    """The comparison and every file it is written as (comparison page, both reports)."""
    from trueclout.training.evaluate.metrics import evaluate_artifact, model_ref, promotion_check
    from trueclout.training.evaluate.report import render_report

    evaluations = {}
    for what, (for_active, for_candidate) in (("feedback_holdout", feedback),
                                               ("base_holdout", base)):
        setting = ("held-out feedback labels" if what == "feedback_holdout"
                   else "held-out base data")
        evaluations[what] = (
            evaluate_artifact(active, for_active, setting=setting, baselines=False),
            evaluate_artifact(candidate, for_candidate, against=(active, for_active),
                              setting=setting, baselines=False))
    check = promotion_check(*evaluations["base_holdout"], BASE_TOLERANCE)
    comparison = Comparison(
        active=model_ref(active), candidate=model_ref(candidate),
        feedback=judgements(feedback[1], *evaluations["feedback_holdout"]),
        base=judgements(base[1], *evaluations["base_holdout"]),
        base_criteria=check.rows, base_worse=check.worse,
        settings={"feedback_weight": job.weight, "holdout_share": job.holdout_share,
                  "base_holdout_share": BASE_HOLDOUT_SHARE, "base_tolerance": BASE_TOLERANCE,
                  "feedback_train_accounts": trained_feedback, "flag_level": FLAG_LEVEL,
                  "flag_thresholds": {
                      "active": flag_threshold(evaluations["feedback_holdout"][0]),
                      "candidate": flag_threshold(evaluations["feedback_holdout"][1])}})
    comparison.decide()
    files = render_comparison(comparison)
    with warnings.catch_warnings():
        # A small holdout may leave a plot panel without a curve (one class only).
        warnings.filterwarnings("ignore", "No artists with labels", UserWarning)
        for what, (_, evaluation) in evaluations.items():
            for name, data in render_report(evaluation).items():
                files[f"{what}/{name}"] = data
    return comparison, files


