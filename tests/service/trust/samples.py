"""The shipped sample snapshots, each with the scripted assessment and the verdict it must get.

The scripts stand in for the model (see ``doubles.py``): each sample gets the
kind of assessment its name describes, so the tests cover every verdict
level on real sample data.  Suspicious days are the sample's own largest
follower jumps, as the growth signals would flag them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import orjson

from tests.service.trust.doubles import Script
from trueclout.assessment import Reason
from trueclout.data import SAMPLES_DIR


@dataclass(frozen=True)
class Sample:
    name: str
    document: dict[str, Any]
    script: Script
    verdict: str
    headline_start: str

    @property
    def account_id(self) -> str:
        return self.document["account_id"]

    @property
    def handle(self) -> str:
        return self.document["profile"]["username"]

    @property
    def platform(self) -> str:
        return self.document["platform"]


def largest_jumps(document: dict[str, Any], count: int) -> tuple[date, ...]:
    """The days with the ``count`` largest day-on-day follower gains."""
    points = sorted(document["follower_history"], key=lambda p: p["date"])
    gains = [(b["followers"] - a["followers"], date.fromisoformat(b["date"]))
             for a, b in zip(points, points[1:], strict=False)]
    return tuple(sorted(day for _, day in sorted(gains, reverse=True)[:count]))


def _reason(code: str, family: str, message: str, contribution: float) -> Reason:
    return Reason(code=code, family=family, message=message,  # type: ignore[arg-type]
                  contribution=contribution)


def _bought_followers(doc: dict[str, Any]) -> tuple[Script, str, str]:
    return (Script(
        level="high", probability=0.91, discount=0.32,
        tactics={"bought_followers": 0.88, "growth_burst": 0.71},
        reasons=(
            _reason("FAKE_AUDIENCE_SHARE", "audience",
                    "41% of sampled followers look purchased (95% interval 33% to 49%).", 0.42),
            _reason("FOLLOWER_BURST", "growth",
                    "240 followers arrived in one day, 24x the usual daily gain, with no rise "
                    "in engagement.", 0.31),
            _reason("TEMPLATE_PROFILES", "audience",
                    "Follower profiles match a known fraud farm template.", 0.1),
        ),
        suspicious_days=largest_jumps(doc, 2)),
        "likely_manipulated", "Likely manipulated")


# Sample name -> (script, verdict level, start of the headline), from the sample's document.
SCRIPTS: dict[str, Callable[[dict[str, Any]], tuple[Script, str, str]]] = {
    "genuine_steady": lambda _: (
        Script(level="low", probability=0.04, confidence="high"),
        "consistent", "Consistent with genuine influence"),
    "genuine_community": lambda _: (Script(
        level="low", probability=0.11, tactics={"engagement_ring": 0.2},
        reasons=(_reason("ENGAGEMENT_CONCENTRATION", "engagement",
                         "41% of engagement comes from 12 accounts, as in close communities.",
                         0.05),)),
        "consistent", "Consistent with genuine influence"),
    "viral_genuine": lambda _: (Script(
        level="low", probability=0.14, tactics={"growth_burst": 0.18},
        reasons=(_reason("GROWTH_WITH_ENGAGEMENT", "growth",
                         "Followers rose 890 in one day, together with 12x the usual "
                         "engagement.", 0.04),)),
        "consistent", "Consistent with genuine influence"),
    "bought_followers": _bought_followers,
    "ring_member": lambda _: (Script(
        level="elevated", probability=0.55, discount=0.12, tactics={"engagement_ring": 0.62},
        reasons=(_reason("RING_SYNCHRONY", "engagement",
                         "62% of engagement comes from 9 accounts that engage with every post "
                         "within 30 seconds.", 0.35),)),
        "questionable", "Questionable"),
    "new_thin": lambda _: (Script(
        level="elevated", probability=0.35, confidence="insufficient",
        notes=("only 19 days of follower history", "only 4 engagements"),
        tactics={"growth_burst": 0.4}),
        "cannot_tell", "Cannot tell"),
}


def sample_documents() -> dict[str, dict[str, Any]]:
    """Every sample snapshot in data/samples, by file stem (scripted or not)."""
    return {p.stem: orjson.loads(p.read_bytes()) for p in sorted(SAMPLES_DIR.glob("*.json"))}


@cache
def samples() -> tuple[Sample, ...]:
    """The samples in data/samples that have a script (a new sample needs one added here)."""
    docs = sample_documents()
    return tuple(Sample(name, docs[name], *SCRIPTS[name](docs[name]))
                 for name in sorted(SCRIPTS) if name in docs)


def scripts_by_account() -> dict[str, Script]:
    return {s.account_id: s.script for s in samples()}
