"""Every estimator and detector passes the same checks (see ``checks.py`` for what and why)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conformance import checks
from tests.conformance.checks import Subject
from tests.conformance.subjects import (
    ORDER_SENSITIVE,
    AccountModelSubject,
    AudienceQuantifierSubject,
    FollowerModelSubject,
    RingDetectorSubject,
    calibrator_subjects,
)


def _build(folder: Path) -> dict[str, Subject]:
    subjects: list[Subject] = [
        FollowerModelSubject(folder),
        *calibrator_subjects(),
        AudienceQuantifierSubject(folder),
        AccountModelSubject(),
        RingDetectorSubject(),
        # Training order, where the shipped configuration is order-sensitive (ORDER_SENSITIVE).
        FollowerModelSubject(folder, name="follower_model[no noise or subsampling]",
                             params={"noise_scale": 0.0, "subsample": 1.0,
                                     "colsample_bytree": 1.0},
                             columns=("margin",)),
        AccountModelSubject(name="account_model[subsample=1]", subsample=1.0),
    ]
    return {s.name: s for s in subjects}


AS_SHIPPED = ["follower_model", "calibrator_sigmoid", "calibrator_isotonic", "follower_platt",
              "audience_quantifier", "account_model", "ring_detector"]
ORDER_FREE = [*(n for n in AS_SHIPPED if n not in ORDER_SENSITIVE),
              "follower_model[no noise or subsampling]",
              # Fits the variant twice (about 2-4 s): the inner loop leaves it to `make test`.
              pytest.param("account_model[subsample=1]", marks=pytest.mark.slow)]


@pytest.fixture(scope="module")
def subjects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Subject]:
    return _build(tmp_path_factory.mktemp("conformance"))


CHECKS: dict[str, Callable[[Subject], None]] = {
    "seed_idempotence": checks.check_seed_idempotence,
    "scoring_order": checks.check_scoring_order,
    "one_in_many": checks.check_one_in_many,
}


@pytest.mark.parametrize("name", AS_SHIPPED)
@pytest.mark.parametrize("check", sorted(CHECKS))
def test_check(check: str, name: str, subjects: dict[str, Subject]) -> None:
    CHECKS[check](subjects[name])


@pytest.mark.parametrize("name", ORDER_FREE)
def test_training_order(name: str, subjects: dict[str, Subject]) -> None:
    checks.check_training_order(subjects[name])


@pytest.mark.parametrize("name", AS_SHIPPED)
def test_round_trip(name: str, subjects: dict[str, Subject], tmp_path: Path) -> None:
    assert subjects[name].persists, f"{name}: say how it persists, or leave it out of this list"
    checks.check_round_trip(subjects[name], tmp_path)


def test_every_shipped_subject_is_listed(subjects: dict[str, Subject]) -> None:
    """A variant exists only to check training order for an order-sensitive subject."""
    variants = set(subjects) - set(AS_SHIPPED)
    assert {v.split("[")[0] for v in variants} <= set(ORDER_SENSITIVE)
    assert set(ORDER_SENSITIVE) <= set(AS_SHIPPED)
