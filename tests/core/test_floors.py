"""Version floors as dated data (scanner/floors.py): parsing, judging, and the out-of-date floor."""

from __future__ import annotations

from datetime import date
from typing import Any

import jsonschema
import pytest

from scanner.floors import (
    FLOOR_SCHEMA,
    Verdict,
    VersionFloor,
    floor_from_params,
    judge,
    parse_version,
    scan_date,
    stale_floor_result,
    version_text,
)
from scanner.model import Resource, Status

PG_FLOOR: dict[str, Any] = {
    "reviewed": "2026-11-13",
    "review_interval_days": 120,
    "minimum": "15",
    "floors": {"15": "15.15", "16": "16.11", "17": "17.7", "18": "18.1"},
}
RESOURCE = Resource("t", "version-floor", "floor", "postgres://db:5432/server/version-floor")


def test_parse_version_takes_leading_numbers() -> None:
    assert parse_version("15.15") == (15, 15)
    assert parse_version("v1.34.2-eks-123") == (1, 34, 2)
    assert parse_version("16.4 (Debian 16.4-1.pgdg120+2)") == (16, 4)
    assert parse_version("devel") is None
    assert parse_version(None) is None
    assert version_text((1, 34, 2)) == "1.34.2"


def test_the_parameter_schema_accepts_the_shipped_shape_and_refuses_a_floor_without_a_date() -> None:
    jsonschema.validate(PG_FLOOR, FLOOR_SCHEMA)
    without_date = {k: v for k, v in PG_FLOOR.items() if k != "reviewed"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(without_date, FLOOR_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**PG_FLOOR, "floors": {"15": "fifteen"}}, FLOOR_SCHEMA)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"floors": {"15": "15.1"}}, "reviewed"),
        ({"reviewed": "13.11.2026", "floors": {"15": "15.1"}}, "reviewed"),
        ({"reviewed": "2026-11-13", "floors": {}}, "floors"),
        ({"reviewed": "2026-11-13", "floors": {"15": "16.1"}}, "not on track"),
        ({"reviewed": "2026-11-13", "floors": {"15": "15.1", "1.34": "1.34.2"}}, "same number"),
        ({"reviewed": "2026-11-13", "floors": {"15": "15.1"}, "review_interval_days": 0}, "at least 1"),
    ],
)
def test_bad_floors_are_refused_with_the_reason(value: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        floor_from_params(value)


@pytest.mark.parametrize(
    ("version", "verdict", "floor"),
    [
        ("15.15", Verdict.OK, "15.15"),
        ("15.16", Verdict.OK, "15.15"),
        ("15.14", Verdict.BELOW_FLOOR, "15.15"),
        ("16.2", Verdict.BELOW_FLOOR, "16.11"),
        ("17.7", Verdict.OK, "17.7"),
        ("14.20", Verdict.BELOW_MINIMUM, "15"),
        ("19.0", Verdict.NEWER_TRACK, "18.1"),
    ],
)
def test_judge_per_track(version: str, verdict: Verdict, floor: str) -> None:
    parsed = parse_version(version)
    assert parsed is not None
    judgement = judge(parsed, floor_from_params(PG_FLOOR))
    assert judgement.verdict is verdict
    assert judgement.floor == parse_version(floor)
    assert judgement.passes is (verdict in (Verdict.OK, Verdict.NEWER_TRACK))
    assert version in judgement.message("PostgreSQL")


def test_an_unlisted_old_track_without_a_minimum_fails() -> None:
    floor = floor_from_params({"reviewed": "2026-11-13", "floors": {"1.34": "1.34.2", "1.35": "1.35.1"}})
    assert floor.track_length == 2
    judgement = judge((1, 33, 9), floor)
    assert judgement.verdict is Verdict.UNKNOWN_OLD_TRACK
    assert not judgement.passes
    assert judge((1, 35), floor).verdict is Verdict.BELOW_FLOOR  # 1.35 == 1.35.0 < 1.35.1
    assert judge((1, 35, 1), floor).passes


def test_scan_date_reads_collected_at() -> None:
    assert scan_date("2027-04-01T08:00:00Z") == date(2027, 4, 1)
    assert scan_date("2027-04-01T23:30:00+00:00") == date(2027, 4, 1)
    assert scan_date("") is None
    assert scan_date("yesterday") is None


def test_a_current_floor_is_not_reported() -> None:
    floor = floor_from_params(PG_FLOOR)
    assert stale_floor_result(floor, "2027-03-13T00:00:00Z", RESOURCE) is None  # day 120: still current


def test_an_out_of_date_floor_is_a_finding_of_its_own() -> None:
    floor = floor_from_params(PG_FLOOR)
    result = stale_floor_result(floor, "2027-03-14T00:00:00Z", RESOURCE)  # day 121
    assert result is not None
    assert result.status is Status.FAIL
    assert result.resource == RESOURCE
    assert "2026-11-13" in result.message and "121 days" in result.message
    assert result.observed["reviewed"] == "2026-11-13"


def test_a_scan_without_a_date_cannot_vouch_for_the_floor() -> None:
    result = stale_floor_result(floor_from_params(PG_FLOOR), "", RESOURCE)
    assert result is not None and result.status is Status.ERROR


def test_describe_is_json_ready() -> None:
    floor = VersionFloor(floors={(15,): (15, 15)}, reviewed=date(2026, 11, 13), review_interval_days=90)
    assert floor.describe() == {
        "floors": {"15": "15.15"},
        "minimum": None,
        "reviewed": "2026-11-13",
        "review_interval_days": 90,
    }
