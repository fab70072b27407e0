"""The model registry: which artifact the service scores with, and how it got there.

A models directory (``Settings.resolved_models_dir``) holds artifact folders
named by version and ``registry.json``: the active version, the stack of
earlier active versions (for rollback) and an append-only history of every
promotion and rollback.  The state file is replaced atomically under a file
lock, so a reader never sees half a state and two analysts never interleave.
With nothing promoted, the active model is the shipped default
(``models/default``), so ``make run`` works with no other step.

A model enters the models directory only here: ``add`` copies a finished
folder in, ``staging`` + ``commit`` move a freshly trained one in with one
rename; both verify it and name it by its version.

Whether a candidate *deserves* promotion (evaluation on the same data,
stability of risk levels) is decided in ``training``; the registry only
records the decision, with the figures that justified it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trueclout.errors import UserError
from trueclout.files import utc_now, write_atomic
from trueclout.models.artifact import SHIPPED_DIR, read_card, verify_files

STATE_FILE = "registry.json"
LOCK_FILE = ".registry.lock"
SHIPPED = "default"


class RegistryError(UserError):
    """A registry operation that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Committed:
    """Where ``add`` or ``commit`` put a model; ``existed``: the directory already held it."""

    version: str
    path: Path
    existed: bool


@dataclass(frozen=True)
class RegistryEntry:
    version: str
    name: str
    path: Path
    created_at: str | None
    active: bool
    shipped: bool
    metrics: dict[str, Any]


class ModelRegistry:
    """Artifacts by version in one folder, one of them active (or the shipped default)."""

    def __init__(self, models_dir: Path, *, shipped_dir: Path = SHIPPED_DIR) -> None:
        self.models_dir = Path(models_dir)
        self.shipped_dir = Path(shipped_dir)

    # --- reading ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        path = self.models_dir / STATE_FILE
        if not path.exists():
            return {"active": None, "stack": [], "history": []}
        try:
            state = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise RegistryError(f"{path}: unreadable registry state ({exc}); restore it from "
                                "a backup or delete it to fall back to the shipped model"
                                ) from None
        return state

    def active_version(self) -> str | None:
        """The promoted version, or None when the shipped default is in use."""
        return self.state().get("active")

    def active(self) -> Path:
        """Folder of the model the service should load."""
        version = self.active_version()
        if version is not None:
            path = self.models_dir / version
            if not (path / "card.json").is_file():
                raise RegistryError(f"active model {version} is missing from {self.models_dir}; "
                                    "run `trueclout models rollback` or promote another")
            return path
        if not (self.shipped_dir / "card.json").is_file():
            raise RegistryError(f"no model promoted in {self.models_dir} and no shipped default "
                                f"at {self.shipped_dir}; run `make model` or `trueclout train`")
        return self.shipped_dir

    def list(self) -> list[RegistryEntry]:
        """Every artifact in the models directory, plus the shipped default; newest first."""
        active = self.active_version()
        entries = []
        if self.models_dir.is_dir():
            for folder in sorted(self.models_dir.iterdir()):
                if _is_model_folder(folder):
                    entries.append(self._entry(folder, active=folder.name == active))
        entries.sort(key=lambda e: e.created_at or "", reverse=True)
        if (self.shipped_dir / "card.json").is_file():
            entries.append(self._entry(self.shipped_dir, active=active is None, shipped=True))
        return entries

    def resolve(self, ref: str | Path) -> Path:
        """An artifact folder from a path, a version (or unique prefix), 'active' or 'default'."""
        ref = str(ref)
        if ref == "active":
            return self.active()
        if ref == SHIPPED:
            return self.shipped_dir
        candidate = Path(ref)
        if candidate.is_dir() and (candidate / "card.json").is_file():
            return candidate
        if self.models_dir.is_dir() and "/" not in ref:
            matches = [p for p in self.models_dir.iterdir()
                       if p.name.startswith(ref) and _is_model_folder(p)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise RegistryError(f"{ref!r} matches {len(matches)} models: "
                                    f"{sorted(p.name for p in matches)}; give more of the version")
        raise RegistryError(f"no model {ref!r}: not a model folder, nor a version in "
                            f"{self.models_dir} (see `trueclout models list`)")

    def history(self) -> list[dict[str, Any]]:
        return list(self.state().get("history", []))

    # --- changing -----------------------------------------------------------------------

    def add(self, artifact_dir: Path) -> str:
        """Copy a verified artifact into the models directory (idempotent); returns its version."""
        return self._commit(Path(artifact_dir), move=False).version

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A fresh hidden folder beside the models, to save a new artifact in and ``commit``.

        Beside its final place so that committing is one rename; whatever is
        still there when the block ends (a failed run, or a model the
        directory already held) is removed.
        """
        self.models_dir.mkdir(parents=True, exist_ok=True)
        folder = self.models_dir / f".training-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def commit(self, folder: Path) -> Committed:
        """Move a finished artifact folder (from ``staging``) into the models directory.

        The checks and the outcome are those of ``add``; a model the directory
        already holds is kept and the new copy left to be discarded.
        """
        return self._commit(Path(folder), move=True)

    def promote(self, version: str, *, forced: bool = False, note: str = "",
                evidence: dict[str, Any] | None = None) -> dict[str, Any]:
        """Make ``version`` (already in the models directory) the active model."""
        path = self.models_dir / version
        verify_files(path)  # never point the service at a damaged folder
        with self._locked():
            state = self.state()
            previous = state.get("active")
            if previous == version:
                raise RegistryError(f"{version} is already the active model")
            state.setdefault("stack", []).append(previous)  # None: the shipped default
            state["active"] = version
            event = {"action": "promote", "version": version, "previous": previous,
                     "forced": forced, "note": note, "at": _now(),
                     "evidence": evidence or {}}
            state.setdefault("history", []).append(event)
            self._write(state)
        return event

    def rollback(self, *, note: str = "") -> dict[str, Any]:
        """Return to the model that was active before the last promotion."""
        with self._locked():
            state = self.state()
            stack = state.get("stack", [])
            if not stack:
                raise RegistryError("nothing to roll back to: no promotion has been made in "
                                    f"{self.models_dir}")
            current = state.get("active")
            previous = stack.pop()
            if previous is not None and not (self.models_dir / previous / "card.json").is_file():
                raise RegistryError(f"cannot roll back to {previous}: its folder is gone from "
                                    f"{self.models_dir}")
            state["active"] = previous
            event = {"action": "rollback", "version": previous, "previous": current,
                     "note": note, "at": _now()}
            state.setdefault("history", []).append(event)
            self._write(state)
        return event

    # --- internals ----------------------------------------------------------------------

    def _commit(self, artifact_dir: Path, *, move: bool) -> Committed:
        """The one way a model enters the models directory: verified, by version, atomically."""
        card = verify_files(artifact_dir)
        version = str(card["version"])
        target = self.models_dir / version
        if target.resolve() == artifact_dir.resolve():
            return Committed(version, target, existed=True)
        if target.exists():
            if read_card(target).get("version") == version:
                return Committed(version, target, existed=True)
            raise RegistryError(f"{target} exists and holds another model")
        self.models_dir.mkdir(parents=True, exist_ok=True)
        if move:
            os.replace(artifact_dir, target)
        else:
            staging = self.models_dir / f".{version}.incoming-{os.getpid()}"
            shutil.copytree(artifact_dir, staging)
            os.replace(staging, target)
        return Committed(version, target, existed=False)

    def _entry(self, folder: Path, *, active: bool, shipped: bool = False) -> RegistryEntry:
        card = read_card(folder)
        metrics = card.get("metrics", {}).get("learners", {}).get(card.get("learner", ""), {})
        return RegistryEntry(
            version=str(card["version"]),
            name=str(card["name"]),
            path=folder,
            created_at=card.get("created_at"),
            active=active,
            shipped=shipped,
            metrics=metrics,
        )

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        with (self.models_dir / LOCK_FILE).open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _write(self, state: dict[str, Any]) -> None:
        text = json.dumps(state, indent=2, sort_keys=True) + "\n"
        write_atomic(self.models_dir / STATE_FILE, text, fsync=True)


def _is_model_folder(path: Path) -> bool:
    """Artifact folders only: hidden names are staging areas of unfinished writes."""
    return not path.name.startswith(".") and path.is_dir() and (path / "card.json").is_file()


def _now() -> str:
    return utc_now(whole_seconds=True).isoformat()
