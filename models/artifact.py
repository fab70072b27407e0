"""The model artifact: a folder of model files and one manifest, ``card.json``, vouching for them.

Layout::

    card.json                       name, version, features, thresholds, metrics, training
                                    data digest and counts, library versions, sha256 of
                                    every file below, and its own digest (card_sha256)
    account/xgboost/<target>.ubj    the shipped boosters, in XGBoost's own format
    account/calibration.json        calibrators of every learner (isotonic knots / Platt)
    baselines/logistic_regression.json   baseline as coefficients (portable)
    baselines/random_forest.json.gz baseline forest as its tree arrays (report-only)
    follower_model/...              the follower-level component, its own files
    report/...                      the evaluation report written with the model

Loading checks everything before trusting anything: the card's own digest,
every file's sha256, the feature list and registry version against the
running pipeline, and XGBoost's major version.  Model bytes are read once,
hashed, and loaded from those same bytes.  Nothing is ever unpickled: every
part is XGBoost's own format or plain JSON.  With ``TRUECLOUT_MODEL_SIGNING_KEY``
set, cards are signed when written and a model loads only with a matching
signature (``models/signing.py``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import platform
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from trueclout.errors import UserError
from trueclout.files import write_atomic
from trueclout.models import signing
from trueclout.models.account_model import (
    BASELINE_LEARNERS,
    FLAG_LEVEL,
    LEVELS,
    PRIMARY_LEARNER,
    TACTICS,
    TARGETS,
    AccountModel,
    BoosterScorer,
    CalibratedLearner,
    Calibrator,
    FeatureMatrix,
    FeatureMismatchError,
    ForestScorer,
    LinearScorer,
    Prediction,
    TargetScorer,
    Thresholds,
    describe_feature_mismatch,
    thresholds_from_json,
    thresholds_to_json,
)

CARD_FILE = "card.json"
FORMAT = "trueclout-account-model"
FORMAT_VERSION = 1
SHIPPED_DIR = Path(__file__).resolve().parent / "default"
FOLLOWER_COMPONENT = "follower_model"
REPORT_DIR = "report"
# The training data's feature distributions (``models/reference.py``), for drift checks.
REFERENCE_DIR = "reference"
_BOOSTER_DIR = "account/xgboost"
_CALIBRATION_FILE = "account/calibration.json"
_LINEAR_FILE = "baselines/logistic_regression.json"
_FOREST_FILE = "baselines/random_forest.json.gz"
# Where forests were pickled before; such a file is never read, only reported as outdated.
_PICKLED_FOREST_FILE = "baselines/random_forest.pkl.gz"
OVERALL_RULE = (
    "risk = max(calibrated P(any tactic), calibrated P(each tactic)); level from the overall "
    f"thresholds; flag = (level == '{FLAG_LEVEL}')"
)


class ArtifactError(UserError):
    """An artifact that cannot be used; the message says which file or field and why."""


class TamperedArtifactError(ArtifactError):
    """A file's bytes differ from the digest its card recorded."""


class IncompatibleArtifactError(ArtifactError):
    """A sound artifact built for other features or another XGBoost major version."""


class SavableComponent(Protocol):
    def save(self, directory: Path) -> Any: ...


# ---------------------------------------------------------------------------------------------
# Digests


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def canonical_json(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


def card_digest(card: Mapping[str, Any]) -> str:
    """sha256 of the card's content without its own digest field (whitespace-independent)."""
    return sha256_bytes(canonical_json({k: v for k, v in card.items() if k != "card_sha256"}))


def _model_version(files: Mapping[str, str], features: Mapping[str, Any],
                   thresholds: Any) -> str:
    """A version derived from content: the same training gives the same version."""
    # Reports and the training reference describe a model without changing its predictions.
    described = (REPORT_DIR + "/", REFERENCE_DIR + "/")
    content = {"files": {k: v for k, v in files.items() if not k.startswith(described)},
               "features": features, "thresholds": thresholds}
    return sha256_bytes(canonical_json(content))[:12]


def library_versions() -> dict[str, str]:
    import sklearn
    import xgboost

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "xgboost": xgboost.__version__,
    }


def _major(version: str) -> str:
    return version.split(".", 1)[0]


# ---------------------------------------------------------------------------------------------
# Saving


def save_artifact(
    directory: Path,
    model: AccountModel,
    *,
    name: str,
    training: Mapping[str, Any],
    metrics: Mapping[str, Any],
    registry_version: str,
    follower_model: SavableComponent | None = None,
    extra_files: Mapping[str, bytes] | None = None,
    created_at: datetime | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write a complete artifact folder atomically and return its card.

    ``created_at=None`` leaves the time out of the card, so that a reproducible
    build (``make model``) writes byte-identical files.
    """
    directory = Path(directory)
    if directory.exists() and not overwrite:
        raise ArtifactError(f"{directory}: already exists; choose another --out")
    staging = directory.parent / f".{directory.name}.staging-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        _write_model_files(staging, model)
        components: dict[str, Any] = {FOLLOWER_COMPONENT: None}
        if follower_model is not None:
            follower_model.save(staging / FOLLOWER_COMPONENT)
            components[FOLLOWER_COMPONENT] = {
                "path": FOLLOWER_COMPONENT,
                "class": f"{type(follower_model).__module__}.{type(follower_model).__qualname__}",
            }
        for rel, data in (extra_files or {}).items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        files = {rel: sha256_file(staging / rel) for rel in _relative_files(staging)}
        features = {"registry_version": registry_version, "names": list(model.feature_names),
                    "count": len(model.feature_names)}
        thresholds = thresholds_to_json(model.thresholds)
        card: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": name,
            "version": _model_version(files, features, thresholds),
            "created_at": created_at.isoformat() if created_at else None,
            "features": features,
            "tactics": list(TACTICS),
            "targets": list(TARGETS),
            "learner": PRIMARY_LEARNER,
            "levels": {"levels": list(LEVELS), "flag_level": FLAG_LEVEL, "rule": OVERALL_RULE},
            "thresholds": thresholds,
            "baselines": {name_: {"thresholds": thresholds_to_json(learner.thresholds)}
                          for name_, learner in model.baselines.items()},
            "metrics": dict(metrics),
            "training": dict(training),
            "components": components,
            "libraries": library_versions(),
            "files": files,
        }
        _write_card(staging, card)
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(staging, directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return card


def attach_reports(
    directory: Path,
    files: Mapping[str, bytes],
    *,
    evaluations: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Add report files (under ``report/``) to a saved artifact and reseal its card.

    Reports describe the model without changing it, so the version stays the
    same; the card's digests cover the new files like every other.
    """
    directory = Path(directory)
    card = verify_files(directory)
    for rel in files:
        if not rel.startswith(REPORT_DIR + "/") or ".." in Path(rel).parts:
            raise ArtifactError(f"reports go under {REPORT_DIR}/, not {rel!r}")
    for rel, data in files.items():
        write_atomic(directory / rel, data)
        card["files"][rel] = sha256_bytes(data)
    if evaluations:
        card.setdefault("evaluations", {}).update(evaluations)
    _write_card(directory, card)
    return card


def attach_reference(directory: Path, document: bytes) -> dict[str, Any]:
    """Add (or replace) the training reference of a saved artifact and reseal its card.

    For artifacts built before models carried one; like a report, it leaves the
    model and its version unchanged, and the card's digests cover it.
    """
    from trueclout.models.reference import REFERENCE_FILE

    directory = Path(directory)
    card = verify_files(directory)
    write_atomic(directory / REFERENCE_FILE, document)
    card["files"][REFERENCE_FILE] = sha256_bytes(document)
    _write_card(directory, card)
    return card


def _write_card(directory: Path, card: dict[str, Any]) -> None:
    card["files"] = dict(sorted(card["files"].items()))
    signing.sign(card, signing.signing_key())
    card["card_sha256"] = card_digest(card)
    write_atomic(directory / CARD_FILE, json.dumps(card, indent=2, sort_keys=True) + "\n")


def _write_model_files(root: Path, model: AccountModel) -> None:
    (root / _BOOSTER_DIR).mkdir(parents=True)
    for target in TARGETS:
        scorer = model.learner.scorers[target]
        if not isinstance(scorer, BoosterScorer):
            raise TypeError(f"the shipped learner must be XGBoost; {target} is {type(scorer)}")
        (root / _BOOSTER_DIR / f"{target}.ubj").write_bytes(
            bytes(scorer.booster.save_raw(raw_format="ubj")))
    calibration = {learner.name: {t: learner.calibrators[t].to_json() for t in TARGETS}
                   for learner in model.all_learners().values()}
    _write_json(root / _CALIBRATION_FILE, calibration)
    for name, learner in model.baselines.items():
        scorers = learner.scorers
        if all(isinstance(s, LinearScorer) for s in scorers.values()):
            _write_json(root / _LINEAR_FILE,
                        {t: scorers[t].to_json() for t in TARGETS})  # type: ignore[attr-defined]
        elif all(isinstance(s, ForestScorer) for s in scorers.values()):
            write_forest(root / _FOREST_FILE, scorers)  # type: ignore[arg-type]
        else:
            raise TypeError(f"no storage format for baseline {name!r}")


def write_forest(path: Path, scorers: Mapping[str, ForestScorer]) -> None:
    """The forest baseline's tree arrays per target, as gzipped JSON (mtime 0: reproducible)."""
    payload = canonical_json({t: scorers[t].to_json() for t in TARGETS})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload, compresslevel=9, mtime=0))


def _write_json(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, sort_keys=True, indent=1, allow_nan=False) + "\n")


def _relative_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.name != CARD_FILE)


# ---------------------------------------------------------------------------------------------
# Loading


@dataclass
class Artifact:
    """A verified, loaded model: what the service and the evaluation call."""

    path: Path
    card: dict[str, Any]
    model: AccountModel
    follower_model: Any | None
    signature_status: signing.SignatureStatus
    _verified: dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return str(self.card["name"])

    @property
    def version(self) -> str:
        return str(self.card["version"])

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.model.feature_names

    @property
    def thresholds(self) -> Thresholds:
        return self.model.thresholds

    @property
    def signature_note(self) -> str:
        """One line on whether the card's signature was checked, for /readyz and `models show`."""
        return signing.STATUS_NOTES[self.signature_status]

    @property
    def registry_version(self) -> str:
        return str(self.card["features"]["registry_version"])

    def predict(self, frame: FeatureMatrix, **options: Any) -> Prediction:
        """See ``AccountModel.predict``; refuses a frame whose columns differ from the card's."""
        try:
            return self.model.predict(frame, **options)
        except FeatureMismatchError as exc:
            raise IncompatibleArtifactError(f"model {self.version}: {exc}") from None

    def set_threads(self, nthread: int) -> None:
        self.model.set_threads(nthread)

    def load_baselines(self) -> tuple[dict[str, CalibratedLearner], list[str]]:
        """The baselines stored with the model, and a note for each that cannot be loaded."""
        notes: list[str] = []
        calibration = json.loads(self._verified[_CALIBRATION_FILE])
        baselines: dict[str, CalibratedLearner] = {}
        for learner in BASELINE_LEARNERS:
            info = self.card.get("baselines", {}).get(learner)
            if info is None:
                notes.append(f"{learner}: not stored in this model")
                continue
            try:
                scorers = self._baseline_scorers(learner)
            except ArtifactError as exc:
                notes.append(f"{learner}: {exc}")
                continue
            calibrators = {t: Calibrator.from_json(calibration[learner][t]) for t in TARGETS}
            baselines[learner] = CalibratedLearner(
                learner, scorers, calibrators, thresholds_from_json(info["thresholds"]))
        self.model.baselines = baselines
        return baselines, notes

    def _baseline_scorers(self, learner: str) -> dict[str, TargetScorer]:
        if learner == "logistic_regression":
            doc = json.loads(self._read_verified(_LINEAR_FILE))
            return {t: LinearScorer.from_json(doc[t]) for t in TARGETS}
        if learner == "random_forest":
            if _FOREST_FILE not in self.card["files"]:
                if _PICKLED_FOREST_FILE in self.card["files"]:
                    raise ArtifactError("stored pickled by an older TrueClout, and pickles are "
                                        "never loaded; retrain to get a comparable forest")
                raise ArtifactError(f"{_FOREST_FILE} is not in {CARD_FILE}")
            try:
                doc = json.loads(gzip.decompress(self._read_verified(_FOREST_FILE)))
                return {t: ForestScorer.from_json(doc[t]) for t in TARGETS}
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ArtifactError(f"{_FOREST_FILE}: not a readable forest ({exc})") from None
        raise ArtifactError(f"unknown baseline {learner!r}")

    def _read_verified(self, rel: str) -> bytes:
        if rel not in self._verified:
            self._verified[rel] = _read_checked(self.path, rel, self.card["files"])
        return self._verified[rel]


def running_features() -> tuple[tuple[str, ...], str]:
    """The feature names and registry version of the pipeline this process runs."""
    from trueclout.features.registry import FEATURE_NAMES, REGISTRY_VERSION

    return tuple(FEATURE_NAMES), str(REGISTRY_VERSION)


def load_artifact(
    path: Path,
    *,
    expected_features: tuple[Sequence[str], str] | None = None,
    nthread: int = 1,
) -> Artifact:
    """Verify and load an artifact folder; refuses anything that does not check out.

    ``expected_features``: (names, registry version) to check against (default:
    the running feature pipeline's).
    """
    path = Path(path)
    card, status = _checked_card(path)
    files = card["files"]
    verified: dict[str, bytes] = {}
    for rel in files:
        data = _read_checked(path, rel, files)
        if rel.startswith(("account/", "baselines/")):
            verified[rel] = data
    check_compatible(card, expected_features or running_features(), path)
    model = _load_account_model(card, verified)
    model.set_threads(nthread)
    follower = _load_follower_component(path, card)
    return Artifact(path=path, card=card, model=model, follower_model=follower,
                    signature_status=status, _verified=verified)


def read_card(path: Path) -> dict[str, Any]:
    """The card, after checking it is one of ours, was not edited and, with a key, is signed."""
    return _checked_card(path)[0]


def sign_artifact(path: Path) -> dict[str, Any]:
    """Sign an existing model with the configured key, after checking every file's digest.

    For models built before the key was set (the shipped default among them):
    signing says "I vouch for these bytes", so it is an operator's explicit act.
    """
    key = signing.signing_key()
    if key is None:
        raise signing.SignatureError(f"{signing.KEY_VARIABLE} is not set; nothing to sign with")
    path = Path(path)
    card = _unsigned_card(path)
    for rel in card["files"]:
        _read_checked(path, rel, card["files"])
    _write_card(path, card)
    return card


def _checked_card(path: Path) -> tuple[dict[str, Any], signing.SignatureStatus]:
    card = _unsigned_card(path)
    return card, signing.check(card, Path(path) / CARD_FILE, signing.signing_key())


def _unsigned_card(path: Path) -> dict[str, Any]:
    """The card, checked for format and its own digest; its signature is the caller's to check."""
    path = Path(path)
    card_file = path / CARD_FILE
    if not path.is_dir():
        raise ArtifactError(f"{path}: not a model folder")
    if not card_file.is_file():
        raise ArtifactError(f"{path}: no {CARD_FILE}; not a TrueClout model")
    try:
        card = json.loads(card_file.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TamperedArtifactError(f"{card_file}: not valid JSON ({exc})") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise ArtifactError(f"{card_file}: not a {FORMAT} card")
    if card.get("format_version") != FORMAT_VERSION:
        raise IncompatibleArtifactError(
            f"{card_file}: format version {card.get('format_version')!r}, this TrueClout reads "
            f"{FORMAT_VERSION}")
    if card.get("card_sha256") != card_digest(card):
        raise TamperedArtifactError(f"{card_file}: content does not match its card_sha256; "
                                    "the card was edited or corrupted")
    return card


def verify_files(path: Path) -> dict[str, Any]:
    """Check the card and every file's digest without loading anything; returns the card."""
    card = read_card(path)
    for rel in card["files"]:
        _read_checked(Path(path), rel, card["files"])
    return card


def read_verified(root: Path, rel: str, files: Mapping[str, str]) -> bytes:
    """One file of an artifact, refused unless its bytes match the digest the card holds."""
    return _read_checked(root, rel, files)


def _read_checked(root: Path, rel: str, files: Mapping[str, str]) -> bytes:
    file = root / rel
    if not file.is_file():
        raise TamperedArtifactError(f"{root}: {rel} is listed in {CARD_FILE} but missing")
    data = file.read_bytes()
    if sha256_bytes(data) != files[rel]:
        raise TamperedArtifactError(
            f"{root}: {rel} does not match its sha256 in {CARD_FILE}; the file was changed "
            "after the model was built (refusing to load it)")
    return data


def check_compatible(card: Mapping[str, Any], expected: tuple[Sequence[str], str],
                     path: Path) -> None:
    """Refuse a model built for other features or another XGBoost major version."""
    names, registry_version = tuple(expected[0]), str(expected[1])
    features = card["features"]
    model_names = tuple(features["names"])
    if model_names != names:
        raise IncompatibleArtifactError(
            f"{path}: built for another feature list; "
            + describe_feature_mismatch(model_names, names).replace(
                "feature list differs from the model's", "the running pipeline differs")
            + "; retrain the model with this version of TrueClout")
    if str(features["registry_version"]) != registry_version:
        raise IncompatibleArtifactError(
            f"{path}: built for feature registry version {features['registry_version']!r}, "
            f"the running pipeline is {registry_version!r}; retrain the model")
    import xgboost

    built = card["libraries"]["xgboost"]
    if _major(built) != _major(xgboost.__version__):
        raise IncompatibleArtifactError(
            f"{path}: boosters saved by XGBoost {built}, running {xgboost.__version__} "
            "(major versions differ)")


def _load_account_model(card: Mapping[str, Any], verified: Mapping[str, bytes]) -> AccountModel:
    import xgboost as xgb

    calibration = json.loads(verified[_CALIBRATION_FILE])
    scorers: dict[str, TargetScorer] = {}
    for target in TARGETS:
        booster = xgb.Booster()
        booster.load_model(bytearray(verified[f"{_BOOSTER_DIR}/{target}.ubj"]))
        scorers[target] = BoosterScorer(booster)
    learner = CalibratedLearner(
        PRIMARY_LEARNER,
        scorers,
        {t: Calibrator.from_json(calibration[PRIMARY_LEARNER][t]) for t in TARGETS},
        thresholds_from_json(card["thresholds"]),
    )
    if set(learner.thresholds) != set(TARGETS):
        raise ArtifactError(f"card thresholds name {sorted(learner.thresholds)}, "
                            f"expected {list(TARGETS)}")
    return AccountModel(feature_names=tuple(card["features"]["names"]), learner=learner)


def _load_follower_component(path: Path, card: Mapping[str, Any]) -> Any | None:
    info = card.get("components", {}).get(FOLLOWER_COMPONENT)
    if not info:
        return None
    from trueclout.models.follower_model import FollowerModel

    return FollowerModel.load(path / info["path"])





