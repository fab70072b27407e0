"""The registry: one entry per feature, a stable model order, reasons people can read."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.features.builders import organic_account, tables_of, with_purchase
from trueclout.features import registry
from trueclout.features.humanize import count, days, duration, number, pct
from trueclout.features.pipeline import compute_features
from trueclout.features.registry import (
    FAMILIES,
    FEATURE_NAMES,
    GRAPH_FEATURES,
    REGISTRY,
    REGISTRY_VERSION,
    FeatureSpec,
    feature_index,
    render_reason,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "features.md"
# Reasons describe signals; they never accuse the person behind the account.
ACCUSING = re.compile(r"\b(fraud\w*|cheat\w*|bought|buy\w*|purchas\w*|scam\w*|fake\w*|bots?|"
                      r"liar|lying)\b", re.IGNORECASE)


def test_names_are_unique_and_order_is_the_registry_order() -> None:
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert [feature_index(n) for n in FEATURE_NAMES] == list(range(len(FEATURE_NAMES)))
    with pytest.raises(KeyError, match="unknown feature"):
        feature_index("no_such_feature")


def test_families_are_contiguous_and_graph_features_close_the_registry() -> None:
    local = [s.family for s in REGISTRY if s.name not in GRAPH_FEATURES]
    assert local == sorted(local, key=FAMILIES.index)
    assert FEATURE_NAMES[-len(GRAPH_FEATURES):] == GRAPH_FEATURES
    assert all(s.family == "engagement" for s in REGISTRY if s.name in GRAPH_FEATURES)
    assert all(s.name.startswith(f"{s.family}_") for s in REGISTRY
               if s.name not in GRAPH_FEATURES)


def test_version_is_a_digest_of_names_families_and_order() -> None:
    assert re.fullmatch(r"[0-9a-f]{12}", REGISTRY_VERSION)
    import hashlib

    shuffled = list(REGISTRY[1:]) + [REGISTRY[0]]
    digest = hashlib.sha256("\n".join(f"{s.name}:{s.family}" for s in shuffled).encode())
    assert digest.hexdigest()[:12] != REGISTRY_VERSION


def test_specs_refuse_bad_families_directions_and_formats() -> None:
    with pytest.raises(ValueError, match="family"):
        FeatureSpec("x", "social", "u", "d", 1, "C", "t")
    with pytest.raises(ValueError, match="risk_direction"):
        FeatureSpec("x", "growth", "u", "d", 0, "C", "t")
    with pytest.raises(ValueError, match="format"):
        FeatureSpec("x", "growth", "u", "d", 1, "C", "{x:percent}")


def test_reason_templates_never_accuse() -> None:
    for spec in REGISTRY:
        assert not ACCUSING.search(spec.reason_template), spec.name


@pytest.fixture(scope="module")
def purchase_frame():
    return compute_features(tables_of(with_purchase(organic_account("p", seed=3)),
                                      organic_account("o", seed=4)))


def test_every_placeholder_is_a_feature_or_a_context_number(purchase_frame) -> None:
    known = set(FEATURE_NAMES) | set(purchase_frame.context)
    for spec in REGISTRY:
        missing = set(spec.placeholders) - known
        assert not missing, f"{spec.name} needs {missing}"


def test_every_reason_renders_with_real_numbers(purchase_frame) -> None:
    row = purchase_frame.row(0)
    for spec in REGISTRY:
        text = render_reason(spec.name, row.values, row.context)
        assert "{" not in text and text.endswith(".")


def test_mismatch_reason_quotes_the_accounts_own_numbers(purchase_frame) -> None:
    row = purchase_frame.row(0)
    text = render_reason("growth_engagement_mismatch", row.values, row.context)
    gained = count(row.context["growth_covered_gain"])
    assert gained in text and pct(row.context["growth_burst_followers_share"]) in text
    assert "1 day" in text
    # A mapping of feature values works as well as the row in registry order.
    assert render_reason("growth_engagement_mismatch", row.as_dict(), row.context) == text


def test_render_reason_formats_for_people() -> None:
    values = np.full(len(FEATURE_NAMES), np.nan)
    values[feature_index("growth_burst_share")] = 0.741
    context = {"growth_total_gain": 2310.4, "growth_burst_days": 2.0}
    assert render_reason("growth_burst_share", values, context) == (
        "74% of this account's 2,310 new followers arrived in a burst of 2 days.")
    context["growth_total_gain"] = float("nan")
    assert "unknown new followers" in render_reason("growth_burst_share", values, context)
    with pytest.raises(KeyError, match="growth_total_gain"):
        render_reason("growth_burst_share", values, {})
    values[feature_index("growth_burst_share")] = np.nan
    assert render_reason("growth_burst_share", values, context).startswith(
        "Not enough data to measure this signal (share of all follower gains")
    with pytest.raises(ValueError, match="registry order"):
        render_reason("growth_burst_share", [0.5], context)


@pytest.mark.parametrize(("fn", "value", "text"), [
    (count, 2310.4, "2,310"), (count, 0, "0"), (pct, 0.741, "74%"), (pct, 0.004, "0.4%"),
    (pct, 0.0001, "<0.1%"), (pct, 0.0, "0%"), (pct, 1.0, "100%"), (days, 1, "1 day"),
    (days, 2.4, "2 days"),
    (days, 0.2, "less than a day"), (duration, 45, "45 seconds"), (duration, 5_400, "90 minutes"),
    (duration, 86_400, "24 hours"), (duration, 86_400 * 3, "3 days"), (number, 48.21, "48"),
    (number, 3.14159, "3.1"), (number, 0.123, "0.12"), (pct, float("nan"), "unknown"),
])
def test_humanize(fn, value, text) -> None:
    assert fn(value) == text


def test_feature_reference_is_current() -> None:
    assert DOCS.read_text() == registry.render_reference(), (
        "docs/features.md is stale: run `trueclout dev feature-docs`")


def test_reference_is_printed_by_the_dev_command() -> None:
    out = subprocess.run([sys.executable, "-m", "trueclout.cli", "dev", "feature-docs", "-"],
                         capture_output=True, text=True, check=True).stdout
    assert out == registry.render_reference()
    for spec in REGISTRY:
        assert f"`{spec.name}`" in out


def test_dev_command_writes_and_checks_the_reference(tmp_path: Path, capsys) -> None:
    from trueclout.cli import main

    target = tmp_path / "features.md"
    assert main(["dev", "feature-docs", str(target), "--check"]) == 1  # missing
    assert main(["dev", "feature-docs", str(target)]) == 0
    assert target.read_text() == registry.render_reference()
    assert main(["dev", "feature-docs", str(target), "--check"]) == 0
    target.write_text(target.read_text() + "edited by hand\n")
    assert main(["dev", "feature-docs", str(target), "--check"]) == 1
    assert "stale" in capsys.readouterr().err
