"""`trueclout feedback export` and `feedback list`, run as analysts run them, on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.service.conftest import BACKENDS, Service, start_service
from tests.service.helpers import unique_snapshot
from tests.service.trust.conftest import expire_snapshot
from trueclout.cli import main
from trueclout.io import read_tables
from trueclout.tables import tables_to_snapshots
from trueclout.training.data.labelled import open_labelled


@pytest.fixture(scope="module", params=BACKENDS)
def export_service(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A server of its own: the export takes every label, so no other test may add one."""
    with start_service(request.param, tmp_path_factory.mktemp(f"export-{request.param}"),
                       dispute_rate_per_hour=0) as svc:
        yield svc


def _score(service: Service, key: str, document: dict[str, Any]) -> dict[str, Any]:
    with service.client(key) as client:
        response = client.post("/v1/score", json=document)
    assert response.status_code == 200, response.text
    return response.json()


def _label(service: Service, key: str, **body: Any) -> dict[str, Any]:
    with service.client(key) as client:
        response = client.post("/v1/feedback", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_export_writes_the_training_format_joined_with_the_scored_snapshots(
    export_service: Service, same_settings_as: Any, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service = export_service
    platform, analyst = service.new_key("platform"), service.new_key("analyst")
    docs = {name: unique_snapshot() for name in ("changed", "ring", "expired", "rejected")}
    docs["ring"]["profile"]["username"] = "ring_member_7"
    scores = {name: _score(service, platform, doc) for name, doc in docs.items()}
    _label(service, analyst, assessment_id=scores["changed"]["assessment_id"],
           label="confirmed_manipulation", tactics=["bought_followers"])
    _label(service, analyst, assessment_id=scores["changed"]["assessment_id"],
           label="false_positive", note="second look: a real audience")
    _label(service, analyst, platform="twitter", account_id=docs["ring"]["account_id"],
           label="confirmed_manipulation", tactics=["engagement_ring", "growth_burst"])
    _label(service, analyst, assessment_id=scores["expired"]["assessment_id"],
           label="confirmed_genuine")
    rejected = _label(service, analyst, assessment_id=scores["rejected"]["assessment_id"],
                      label="confirmed_genuine")
    with service.client(analyst) as client:
        client.patch(f"/v1/feedback/{rejected['id']}", json={"status": "rejected"})
    expire_snapshot(service, scores["expired"]["assessment_id"])
    same_settings_as(service)
    out = tmp_path / "export"

    assert main(["feedback", "export", "--out", str(out), "--quiet"]) == 0
    stdout, stderr = capsys.readouterr()
    assert "exported 2 account(s) (1 confirmed_manipulation, 1 false_positive)" in stdout
    assert "1 earlier label(s) superseded" in stderr
    assert "skipped 1: 1 snapshot(s) past retention" in stderr

    labels = {row["account_id"]: row for row in pq.read_table(out / "labels.parquet").to_pylist()}
    assert set(labels) == {docs["changed"]["account_id"], docs["ring"]["account_id"]}
    changed, ring = labels[docs["changed"]["account_id"]], labels[docs["ring"]["account_id"]]
    assert (changed["kind"], changed["bought_followers"], changed["engagement_ring"],
            changed["growth_burst"]) == ("false_positive", 0, 0, 0)
    assert (ring["kind"], ring["bought_followers"], ring["engagement_ring"],
            ring["growth_burst"]) == ("confirmed_manipulation", 0, 1, 1)
    assert ring["assessment_id"] == scores["ring"]["assessment_id"]
    assert ring["label_source"] == "analyst" and ring["group_id"] is None
    snapshots = {s.account_id: s for s in tables_to_snapshots(read_tables(out))}
    assert snapshots[docs["ring"]["account_id"]].profile.username == "ring_member_7"
    assert len(snapshots[docs["ring"]["account_id"]].engagements) == len(
        docs["ring"]["engagements"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["exported"], manifest["snapshot_expired"], manifest["superseded"]) == (
        2, 1, 1)
    labelled = open_labelled(out)  # what `trueclout train` reads
    assert labelled.labels.num_rows == 2

    assert main(["feedback", "export", "--out", str(out), "--quiet"]) == 2
    assert "already exists" in capsys.readouterr().err
    later = tmp_path / "later"
    assert main(["feedback", "export", "--out", str(later), "--since", "2099-01-01",
                 "--quiet"]) == 2
    assert "no feedback labels were filed since 2099-01-01" in capsys.readouterr().err
    assert not later.exists()

    assert main(["feedback", "list", "--json", "--kind", "label", "--status", "rejected"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [item["id"] for item in listed] == [rejected["id"]]
    assert main(["feedback", "list", "--account", f"twitter:{docs['changed']['account_id']}"]
                ) == 0
    assert "false_positive" in capsys.readouterr().out
    assert main(["feedback", "list", "--account", "myspace:1"]) == 2
    assert "unknown platform 'myspace'" in capsys.readouterr().err
