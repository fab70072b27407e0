"""The hostile-input corpus against every entry point: refused, quickly, briefly, storing nothing.

Every case of ``tests/hostile_inputs.py`` (the contract's bad snapshots and the
attacks of issue 16) goes to ``POST /v1/score``, ``/v1/score/batch`` and
``/v1/trust-check`` and through ``trueclout validate`` and ``trueclout score``:

- HTTP: a 4xx naming the field (a batch may instead answer 200 with that item's
  error: one bad snapshot never fails the others), within 2 s, with an error
  body under 64 KB, and not one row stored;
- CLI: a non-zero exit and one line per problem, naming the field; no traceback.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.hostile_inputs import BAD_FIELDS, HOSTILE, snapshot_bytes
from tests.service.conftest import Service
from trueclout.cli import main
from trueclout.contract import MAX_ERRORS_SHOWN
from trueclout.service.db.idempotency import IdempotencyRecord
from trueclout.service.db.models import StoredAssessment
from trueclout.service.db.snapshots import ScoredSnapshot
from trueclout.service.db.trust import StoredTrustReport

MAX_SECONDS = 2.0
MAX_ERROR_BYTES = 64 * 1024
STORED_TABLES = (StoredAssessment, ScoredSnapshot, StoredTrustReport, IdempotencyRecord)


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    field: str  # as the snapshot's own path
    kind: str | None = None


def _cases() -> list[Case]:
    cases = [Case(f"{path}={value!r}"[:60], snapshot_bytes(path, value), field)
             for path, value, field, _ in BAD_FIELDS]
    cases += [Case(h.name, h.body(), h.field, h.kind) for h in HOSTILE]
    return cases


CASES = _cases()


@dataclass(frozen=True)
class Endpoint:
    """Where a snapshot goes in a request body, and how its paths are then written."""

    path: str
    before: bytes
    after: bytes
    field_prefix: str
    role: str

    def wrap(self, snapshot: bytes) -> bytes:
        return self.before + snapshot + self.after

    def field(self, case: Case) -> str:
        if case.kind in ("json_invalid", "too_many_unknown_keys"):
            return "(document)"  # the whole body: nowhere else to point
        if case.field == "(document)":
            return self.field_prefix.rstrip(".") or "(document)"
        return self.field_prefix + case.field


ENDPOINTS = [
    Endpoint("/v1/score", b"", b"", "", "platform"),
    Endpoint("/v1/score/batch", b'{"snapshots": [', b"]}", "snapshots[0].", "platform"),
    Endpoint("/v1/trust-check", b'{"claimed_score": 40, "platform": "twitter", '
             b'"handle": "@anna_k", "snapshot": ', b"}", "snapshot.", "recruiter"),
]


def stored_rows(service: Service) -> dict[str, int]:
    with service.database.transaction() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in STORED_TABLES}


@pytest.fixture
def keys(service: Service) -> dict[str, str]:
    return {role: service.new_key(role) for role in ("platform", "recruiter", "analyst")}


def post(service: Service, key: str, path: str, body: bytes, **headers: str) -> Any:
    with service.client(key) as client:
        started = time.perf_counter()
        response = client.post(path, content=body, headers={
            "Content-Type": "application/json", "Idempotency-Key": "corpus", **headers})
        return response, time.perf_counter() - started


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.path)
def test_every_hostile_case_is_refused_quickly_briefly_and_stores_nothing(
    service: Service, keys: dict[str, str], endpoint: Endpoint
) -> None:
    before = stored_rows(service)
    for case in CASES:
        response, seconds = post(service, keys[endpoint.role], endpoint.path,
                                 endpoint.wrap(case.body))
        where = f"{endpoint.path} {case.name}: {response.status_code} {response.text[:300]}"
        assert seconds < MAX_SECONDS and len(response.content) < MAX_ERROR_BYTES, where
        body = response.json()
        if response.status_code == 200:  # a batch answers each item; this one failed
            assert endpoint.path == "/v1/score/batch" and body["stored"] is False, where
            [item] = body["results"]
            assert item["status"] == "error", where
            fields = [d["field"] for d in item["error"]["details"]]
            assert case.field in fields, where
        else:
            assert 400 <= response.status_code < 500, where
            fields = [d["field"] for d in body["error"]["details"]]
            assert endpoint.field(case) in fields, where
        assert "Traceback" not in response.text, where
    assert stored_rows(service) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.path)
@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_json_under_another_content_type_is_415_and_stores_nothing(
    service: Service, keys: dict[str, str], endpoint: Endpoint, content_type: str
) -> None:
    before = stored_rows(service)
    response, _ = post(service, keys[endpoint.role], endpoint.path,
                       endpoint.wrap(snapshot_bytes()), **{"Content-Type": content_type})
    assert response.status_code == 415, response.text
    assert response.json()["error"]["details"][0]["field"] == "header.content-type"
    assert stored_rows(service) == before


def _forged_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


FORGED_CURSORS = [
    _forged_cursor(f"2026-01-01T00:00:00+00:00|{2**63}"),
    _forged_cursor("0001-01-01T00:00:00+14:00|5"),
    _forged_cursor("9999-12-31T23:59:59-14:00|5"),
    _forged_cursor("2026-01-01T00:00:00+00:00|-1"),
    _forged_cursor("2026-01-01T00:00:00|5"),
    "not a cursor",
]


@pytest.mark.parametrize("cursor", FORGED_CURSORS)
def test_forged_cursors_are_a_client_error(service: Service, keys: dict[str, str],
                                           cursor: str) -> None:
    for role, path in (("platform", "/v1/accounts/twitter/acct-1/history"),
                       ("analyst", "/v1/feedback")):
        with service.client(keys[role]) as client:
            response = client.get(path, params={"before": cursor})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["details"][0]["field"] == "query.before"


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_times_beyond_utc_are_a_client_error(service: Service, keys: dict[str, str],
                                             since: str) -> None:
    with service.client(keys["analyst"]) as client:
        response = client.get("/v1/feedback", params={"since": since})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "query.since"


# ---------------------------------------------------------------------------------------------
# The CLI


@pytest.fixture
def case_files(tmp_path: Path) -> Iterator[list[tuple[Case, Path]]]:
    files = []
    for n, case in enumerate(CASES):
        path = tmp_path / f"case-{n}.json"
        path.write_bytes(case.body)
        files.append((case, path))
    yield files


def test_validate_refuses_each_case_in_one_line(
    case_files: list[tuple[Case, Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    for case, path in case_files:
        started = time.perf_counter()
        code = main(["validate", str(path)])
        seconds = time.perf_counter() - started
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert code != 0 and seconds < MAX_SECONDS, (case.name, code, seconds)
        assert "Traceback" not in err and len(lines) <= MAX_ERRORS_SHOWN + 1, case.name
        # One line per problem, each naming its field (a post repeated also orphans its
        # engagements: those are problems of their own).
        assert all(line.startswith(f"{path}:line 1") for line in lines), (case.name, err)
        assert any(f": {case.field}: " in line for line in lines), (case.name, err)


def test_score_reports_each_bad_line_once_and_scores_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from trueclout.settings import get_settings

    monkeypatch.setenv("TRUECLOUT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    lines = [case.body for case in CASES if b"\n" not in case.body]
    source = tmp_path / "hostile.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    try:
        code = main(["score", str(source), "--out", str(tmp_path / "out.jsonl"), "-q"])
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err, err[-2000:]
    problems = {line.split()[1] for line in err.splitlines()
                if line.startswith(f"{source}:line ")}
    assert len(problems) == len(lines), err[-2000:]  # every line refused
    assert (tmp_path / "out.jsonl").read_text() == ""
    assert f"scored 0 snapshot(s), {len(lines)} invalid" in err
