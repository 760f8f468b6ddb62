"""The shipped demo evidence of the object stores (examples/evidence/objects*.json, from the real test servers)."""

from __future__ import annotations

from pathlib import Path

import jsonschema

from checks.s3.contract import CONTRACT
from scanner import evidence as evidence_io
from scanner.model import Status
from tests.s3.conftest import Evaluate

DEMO = Path(__file__).resolve().parents[2] / "examples" / "evidence"


def test_demo_evidence_matches_the_contract_and_tells_the_story(evaluate: Evaluate) -> None:
    loaded = {e.target: e for e, _labels in evidence_io.load_directory(DEMO).items if e.kind == "s3"}
    assert set(loaded) == {"objects", "objects-legacy", "objects-weed"}
    for evidence in loaded.values():
        for name, data in evidence.sections.items():
            jsonschema.validate(data, CONTRACT[name], cls=jsonschema.Draft202012Validator)
        assert "127.0.0.1" not in evidence.uri
    hardened = evaluate(loaded["objects"])
    failed = {c for c, r in hardened.items() if any(f.status is Status.FAIL for f in r.values())}
    assert failed == {"S3-07"}
    legacy = evaluate(loaded["objects-legacy"])
    assert legacy["S3-01"]["users/root"].status is Status.FAIL
    assert legacy["S3-04"]["buckets/public-data"].status is Status.FAIL
    weed = evaluate(loaded["objects-weed"])
    assert {f.status for f in weed["S3-14"].values()} == {Status.NOT_APPLICABLE}
    assert loaded["objects-weed"].sections["server"]["flavour"] == "seaweedfs"
