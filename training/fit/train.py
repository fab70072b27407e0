"""Labelled snapshots to a candidate model: the work behind `trueclout train`.

The command parses its options into a ``TrainRequest``, prints what the
``TrainOutcome`` says, and nothing else; everything between (the labels, the
follower component, rings, features, the fit in-process or on Dask, the
report and the commit into the models directory) is here, so a test or a
notebook runs the same path without the CLI.

Two steps, because a run's cheap checks (labels readable, the follower
component found) must fail before any progress bar is drawn: ``TrainJob.open``
reads and checks, ``TrainJob.run`` does the long work.  ``train_model`` does both.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trueclout.errors import UserError
from trueclout.progress import Progress, SilentProgress
from trueclout.training.fit.account import TrainedModel, TrainingConfig

if TYPE_CHECKING:
    from trueclout.models.registry import ModelRegistry
    from trueclout.training.data.labelled import LabelledSet


@dataclass(frozen=True)
class FollowerComponent:
    """The follower model audience features are built with, how it was chosen, and any warning."""

    model: Any | None
    note: dict[str, Any]
    warning: str | None = None


def follower_component(choice: str | None, registry: ModelRegistry) -> FollowerComponent:
    """``choice``: a follower-model folder, 'active' or 'default' (that model's component),
    'none', or None (the active model's, or none with a warning where it is not usable)."""
    if choice == "none":
        return FollowerComponent(None, {"source": "none: audience model columns are unknown (NaN)"})
    if choice is None or choice in ("active", "default"):
        from trueclout.models.artifact import load_artifact

        try:
            artifact = load_artifact(registry.resolve(choice or "active"))
        except UserError as exc:
            if choice is not None:
                raise
            return FollowerComponent(
                None, {"source": f"none (no usable active model: {exc})"},
                warning=f"warning: no follower model (the active model is not usable: {exc}); "
                        "audience model features will be unknown. Pass --follower-model.")
        return FollowerComponent(artifact.follower_model,
                                 {"source": f"component of model {artifact.version}"})
    from trueclout.models.follower_model import FollowerModel

    return FollowerComponent(FollowerModel.load(Path(choice)), {"source": f"folder {choice}"})


@dataclass(frozen=True)
class TrainRequest:
    """What to train on and how; the defaults are `trueclout train`'s."""

    data: Path
    labels: Path | None = None
    config: TrainingConfig = field(default_factory=TrainingConfig)
    name: str = "trueclout"
    # None: commit the model into the registry's models directory.
    out: Path | None = None
    # A folder, 'active', 'default', 'none' or None (see ``follower_component``).
    follower_model: str | None = None
    ring_table: Path | None = None
    no_rings: bool = False
    thin_share: float = 0.0
    hide_rings: float = 0.5
    write_report: bool = True
    # Fit on a new local Dask cluster (``dask``) or on the one at ``scheduler``.
    dask: bool = False
    scheduler: str | None = None


@dataclass
class TrainOutcome:
    """The trained model and where it is; ``existed``: the models directory already held it."""

    trained: TrainedModel
    version: str
    path: Path
    existed: bool = False
    committed: bool = False  # into the models directory (not to ``out``)


class TrainJob:
    """A checked request: labels read and the follower component chosen, before any long work."""

    def __init__(self, request: TrainRequest, registry: ModelRegistry,
                 labelled: LabelledSet, follower: FollowerComponent) -> None:
        self.request = request
        self.registry = registry
        self.labelled = labelled
        self.follower = follower

    @classmethod
    def open(cls, request: TrainRequest, registry: ModelRegistry) -> TrainJob:
        from trueclout.training.data.labelled import open_labelled

        labelled = open_labelled(request.data, request.labels)
        return cls(request, registry, labelled, follower_component(request.follower_model,
                                                                   registry))

    @property
    def warnings(self) -> list[str]:
        return [self.follower.warning] if self.follower.warning else []

    def run(self, progress: Progress | None = None) -> TrainOutcome:
        """Fit and save: to ``out``, or committed into the models directory."""
        progress = progress or SilentProgress()
        out = self.request.out
        if out is not None:
            trained = self._fit(out, progress)
            return TrainOutcome(trained, str(trained.card["version"]), out)
        with self.registry.staging() as folder:
            trained = self._fit(folder, progress)
            committed = self.registry.commit(folder)
        return TrainOutcome(replace(trained, path=committed.path), committed.version,
                            committed.path, existed=committed.existed, committed=True)

    def _fit(self, target: Path, progress: Progress) -> TrainedModel:
        from trueclout.files import utc_now
        from trueclout.models.artifact import running_features
        from trueclout.training.data.labelled import Thinning, data_digest, rings_for

        request, labelled, config = self.request, self.labelled, self.request.config
        names, registry_version = running_features()
        thinning = Thinning(request.thin_share, seed=config.seed, hide_rings=request.hide_rings)
        extra = {"follower_model": self.follower.note,
                 "rings": "none" if request.no_rings else (
                     str(request.ring_table) if request.ring_table else "computed over the data"),
                 "labels": str(labelled.labels_path), "notes": labelled.notes,
                 "thinning": thinning.to_json()}
        common: dict[str, Any] = {
            "name": request.name, "registry_version": registry_version,
            "follower_model": self.follower.model, "write_report": request.write_report,
            "progress": progress, "extra_training": extra}
        if request.dask or request.scheduler:  # distributed: training/fit/on_dask.py
            from trueclout.training.fit.on_dask import train_with_cluster

            return train_with_cluster(
                labelled, config, target, scheduler=request.scheduler,
                ring_table=request.ring_table, no_rings=request.no_rings, thinning=thinning,
                created_at=utc_now(whole_seconds=True), **common)
        from trueclout.training.data.labelled import build_training_set
        from trueclout.training.fit.account import train_artifact

        graph = rings_for(labelled, precomputed=request.ring_table, no_rings=request.no_rings,
                          progress=progress)
        progress.start("computing features", labelled.n_accounts)
        training_set = build_training_set(
            labelled, follower_model=self.follower.model, graph=graph,
            on_progress=progress.advance, digest=data_digest(labelled), thinning=thinning)
        if tuple(training_set.feature_names) != tuple(names):
            raise UserError("the feature pipeline returned another feature list than its "
                            "registry; reinstall TrueClout")
        return train_artifact(training_set, config, target, overwrite=False,
                              created_at=utc_now(whole_seconds=True), **common)


def train_model(request: TrainRequest, *, registry: ModelRegistry,
                progress: Progress | None = None) -> TrainOutcome:
    """Check, fit and save in one call (warnings are in the job; see ``TrainJob``)."""
    return TrainJob.open(request, registry).run(progress)
