"""A saved model judged on labelled data: the work behind `trueclout evaluate` and `models promote`.

``evaluate_model`` scores a model (optionally against another, on the same
accounts) and renders its report; ``promote_model`` evaluates the candidate
and the active model on the same data and records the promotion only when
the candidate does no worse (``metrics.promotion_check``), or when forced.
The commands parse their options into a request and print the outcome.

Each is a job in two steps, like ``fit.train.TrainJob``: ``open`` loads the
models and checks the labels (errors come before any progress bar), ``run``
or ``compare`` does the long work with a ``Progress``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trueclout.errors import UserError
from trueclout.progress import Progress, SilentProgress

if TYPE_CHECKING:
    import pyarrow as pa

    from trueclout.models.artifact import Artifact
    from trueclout.models.registry import ModelRegistry
    from trueclout.training.data.labelled import LabelledSet, TrainingSet
    from trueclout.training.evaluate.metrics import Evaluation, PromotionCheck


def features_per_model(artifacts: list[Artifact], labelled: LabelledSet, graph: pa.Table | None,
                       progress: Progress) -> list[TrainingSet]:
    """Features per artifact, computed with its own follower component (shared when equal)."""
    from trueclout.models.follower_model import same_follower_model
    from trueclout.training.data.labelled import build_training_set, data_digest

    digest = data_digest(labelled)
    sets: list[TrainingSet] = []
    for i, artifact in enumerate(artifacts):
        same = next((sets[j] for j in range(i)
                     if same_follower_model(artifacts[j].follower_model,
                                                  artifact.follower_model)), None)
        if same is not None:
            sets.append(same)
            continue
        what = f" for {artifact.version}" if len(artifacts) > 1 else ""
        progress.start(f"computing features{what}", labelled.n_accounts)
        sets.append(build_training_set(labelled, follower_model=artifact.follower_model,
                                       graph=graph, on_progress=progress.advance, digest=digest))
    return sets


# ---------------------------------------------------------------------------------------------
# evaluate


@dataclass(frozen=True)
class EvaluateRequest:
    """A model to evaluate on labelled snapshots, optionally against another."""

    model: str
    data: Path
    labels: Path | None = None
    against: str | None = None
    threads: int = 1
    ring_table: Path | None = None
    no_rings: bool = False


@dataclass
class EvaluateOutcome:
    artifact: Artifact
    evaluation: Evaluation
    files: dict[str, bytes]  # report.html, report.json and the plots, by name


class EvaluationJob:
    """The models loaded and the labels checked; ``run`` computes features and scores."""

    def __init__(self, request: EvaluateRequest, artifact: Artifact, other: Artifact | None,
                 labelled: LabelledSet) -> None:
        self.request = request
        self.artifact = artifact
        self.other = other
        self.labelled = labelled

    @classmethod
    def open(cls, request: EvaluateRequest, registry: ModelRegistry) -> EvaluationJob:
        from trueclout.models.artifact import load_artifact
        from trueclout.training.data.labelled import open_labelled

        artifact = load_artifact(registry.resolve(request.model), nthread=request.threads)
        other = (load_artifact(registry.resolve(request.against), nthread=request.threads)
                 if request.against else None)
        return cls(request, artifact, other, open_labelled(request.data, request.labels))

    def run(self, progress: Progress | None = None) -> EvaluateOutcome:
        from trueclout.training.data.labelled import rings_for
        from trueclout.training.evaluate.metrics import evaluate_artifact
        from trueclout.training.evaluate.report import render_report

        progress = progress or SilentProgress()
        request, artifact, other = self.request, self.artifact, self.other
        graph = rings_for(self.labelled, precomputed=request.ring_table,
                          no_rings=request.no_rings, progress=progress)
        artifacts = [artifact] + ([other] if other is not None else [])
        sets = features_per_model(artifacts, self.labelled, graph, progress)
        progress.start("scoring and measuring", None)
        evaluation = evaluate_artifact(
            artifact, sets[0], against=(other, sets[1]) if other is not None else None,
            setting=f"evaluation on {request.data}")
        evaluation.summary["notes"].extend(self.labelled.notes)
        return EvaluateOutcome(artifact, evaluation, render_report(evaluation))


def evaluate_model(request: EvaluateRequest, *, registry: ModelRegistry,
                   progress: Progress | None = None) -> EvaluateOutcome:
    """Load, check and evaluate in one call; writing the report's files is the caller's."""
    return EvaluationJob.open(request, registry).run(progress)


# ---------------------------------------------------------------------------------------------
# promote

NO_ACTIVE_MODEL = "no model was active"
ACTIVE_NOT_LOADABLE = "active model could not be loaded"


@dataclass(frozen=True)
class PromoteRequest:
    """A candidate to make active, and the labelled data it is compared on."""

    model: str
    data: Path
    labels: Path | None = None
    force: bool = False
    tolerance: float = 0.005
    note: str = ""
    threads: int = 1
    ring_table: Path | None = None
    no_rings: bool = False


@dataclass
class PromoteOutcome:
    version: str
    event: dict[str, Any]  # the registry's history entry
    check: PromotionCheck | None  # None: promoted without a comparison
    without_comparison: str | None = None  # why (NO_ACTIVE_MODEL or ACTIVE_NOT_LOADABLE)

    @property
    def forced(self) -> bool:
        return bool(self.event.get("forced"))


class PromotionJob:
    """The candidate added to the registry and the active model found: compare, then promote."""

    def __init__(self, request: PromoteRequest, registry: ModelRegistry, version: str,
                 candidate: Artifact, active: Artifact | None,
                 without_comparison: str | None, warnings: list[str],
                 labelled: LabelledSet | None) -> None:
        self.request = request
        self.registry = registry
        self.version = version
        self.candidate = candidate
        self.active = active
        self.without_comparison = without_comparison
        self.warnings = warnings
        self.labelled = labelled
        self.check: PromotionCheck | None = None
        self._data_digest: str | None = None

    @classmethod
    def open(cls, request: PromoteRequest, registry: ModelRegistry) -> PromotionJob:
        """Refuses what cannot be promoted; an unusable active model needs ``force``."""
        from trueclout.models.artifact import load_artifact
        from trueclout.models.registry import RegistryError
        from trueclout.training.data.labelled import open_labelled

        version = registry.add(registry.resolve(request.model))
        candidate = load_artifact(registry.models_dir / version, nthread=request.threads)
        if registry.active_version() == version:
            raise UserError(f"{version} is already the active model")
        try:
            active_path = registry.active()
        except RegistryError:  # nothing promoted and nothing shipped: nothing to compare with
            return cls(request, registry, version, candidate, None, NO_ACTIVE_MODEL, [], None)
        try:
            active = load_artifact(active_path, nthread=request.threads)
        except UserError as exc:
            if not request.force:
                raise UserError(f"the active model ({active_path}) cannot be evaluated: {exc}; "
                                "promote with --force to replace it without a comparison"
                                ) from None
            warning = f"warning: active model not comparable ({exc}); promoting by force"
            return cls(request, registry, version, candidate, None, ACTIVE_NOT_LOADABLE,
                       [warning], None)
        labelled = open_labelled(request.data, request.labels)
        return cls(request, registry, version, candidate, active, None, [], labelled)

    @property
    def comparable(self) -> bool:
        return self.active is not None

    def compare(self, progress: Progress | None = None) -> PromotionCheck:
        """Both models scored on the same accounts, each with its own follower component."""
        from trueclout.training.data.labelled import rings_for
        from trueclout.training.evaluate.metrics import evaluate_artifact, promotion_check

        if self.active is None or self.labelled is None:
            raise ValueError(f"nothing to compare with: {self.without_comparison}")
        progress = progress or SilentProgress()
        request = self.request
        graph = rings_for(self.labelled, precomputed=request.ring_table,
                          no_rings=request.no_rings, progress=progress)
        active_set, candidate_set = features_per_model([self.active, self.candidate],
                                                       self.labelled, graph, progress)
        progress.start("scoring both models", None)
        setting = f"promotion check on {request.data}"
        active_eval = evaluate_artifact(self.active, active_set, setting=setting, baselines=False)
        candidate_eval = evaluate_artifact(self.candidate, candidate_set, setting=setting,
                                           baselines=False)
        self.check = promotion_check(active_eval, candidate_eval, request.tolerance)
        self._data_digest = active_set.digest
        return self.check

    def promote(self) -> PromoteOutcome:
        """Record the promotion; refuses a candidate that does worse unless forced."""
        request, version = self.request, self.version
        if self.without_comparison is not None:
            event = self.registry.promote(
                version, forced=self.without_comparison == ACTIVE_NOT_LOADABLE,
                note=request.note, evidence={"comparison": self.without_comparison})
            return PromoteOutcome(version, event, None, self.without_comparison)
        check = self.check if self.check is not None else self.compare()
        assert self.active is not None
        if not check.acceptable and not request.force:
            reasons = []
            if check.worse:
                reasons.append(f"{version} does worse than the active model "
                               f"{self.active.version} on {', '.join(check.worse)} (tolerance "
                               f"{request.tolerance})")
            notes = {row["criterion"]: row["note"] for row in check.rows}
            reasons += [f"{name}: {notes[name]}" for name in check.thin]
            more = "; label more accounts" if check.thin else ""
            raise UserError("promotion refused: " + "; ".join(reasons) + more
                            + "; use --force to promote anyway")
        evidence = {"data": str(request.data), "data_digest": self._data_digest,
                    "criteria": check.rows, "stability": check.stability}
        event = self.registry.promote(version, forced=not check.acceptable, note=request.note,
                                      evidence=evidence)
        return PromoteOutcome(version, event, check)


def promote_model(request: PromoteRequest, *, registry: ModelRegistry,
                  progress: Progress | None = None) -> PromoteOutcome:
    """Compare (where there is an active model) and promote in one call."""
    job = PromotionJob.open(request, registry)
    if job.comparable:
        job.compare(progress)
    return job.promote()
