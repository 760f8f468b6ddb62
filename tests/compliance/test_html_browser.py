"""The HTML report in a real headless Chromium: no console errors, no network, charts drawn, filters work,
target-supplied text stays text. Debian's chromium and chromium-driver (scripts/prepare-chromium)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from reporters.html import HtmlReporter
from scanner.interface import ReportOptions
from scanner.model import Control, Finding, Resource, ScanResult, Severity, Status, TargetSummary

from .browser import chromium, open_page
from .conftest import DEMO_EVIDENCE, Invoke

HOSTILE = '<script>alert("x")</script>'
HOSTILE_ATTR = '"><img src=x id=injected>'


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner

    from scanner.cli import cli

    out = tmp_path_factory.mktemp("html") / "demo.html"
    store = out.parent / "history.sqlite"
    runner = CliRunner()
    for day in ("2026-01-01", "2026-01-02"):
        args = ["scan", "--evidence", str(DEMO_EVIDENCE), "--store", f"sqlite:{store}", "--fail-on", "none"]
        runner.invoke(cli, [*args, "-f", "json=" + str(out.parent / f"{day}.json")], catch_exceptions=False)
    args = ["scan", "--evidence", str(DEMO_EVIDENCE), "--store", f"sqlite:{store}", "--compare", "last"]
    run = runner.invoke(
        cli,
        [
            *args,
            "-f",
            f"html={out}",
            "-f",
            f"json={out.with_suffix('.json')}",
            "--framework",
            "bsi-grundschutz",
            "--framework",
            "nis2",
            "--fail-on",
            "none",
        ],
        catch_exceptions=False,
    )
    assert run.exit_code in (0, 3), run.output  # 3: the demo evidence has ERRORs (S3 config not read)
    return out


def test_page_loads_without_console_errors_or_network_requests(browser: webdriver.Chrome, demo_report: Path) -> None:
    console, requests = open_page(browser, demo_report)
    assert console == []  # a CSP violation, a script error or a failed load would be logged here
    assert requests == [demo_report.resolve().as_uri()]
    assert browser.execute_script("return document.documentElement.getAttribute('data-ready')") == "1"


def test_charts_are_drawn(browser: webdriver.Chrome, demo_report: Path) -> None:
    open_page(browser, demo_report)
    for chart in ("chart-targets", "chart-severity", "chart-fw-bsi-grundschutz", "chart-fw-nis2", "chart-trend"):
        svg = browser.find_element(By.ID, chart)
        assert svg.size["width"] > 200 and svg.size["height"] > 20, chart
        drawn = browser.execute_script(
            "return Array.from(arguments[0].querySelectorAll('rect,circle')).filter(function(e){"
            "var b=e.getBoundingClientRect();return b.width>0&&b.height>0;}).length",
            svg,
        )
        assert drawn > 0, chart
    # the trend has one point per recorded scan plus this one
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart-trend circle")) == 3


def test_filters_and_search_change_what_is_shown(browser: webdriver.Chrome, demo_report: Path) -> None:
    summary = json.loads(demo_report.with_suffix(".json").read_text())["summary"]["by_status"]
    default = summary["FAIL"] + summary["ERROR"] + summary["WAIVED"]
    with_pass = default + summary["PASS"]
    assert summary["FAIL"] > 100 and summary["PASS"] > 100
    open_page(browser, demo_report)
    rows = lambda: browser.find_elements(By.CSS_SELECTOR, "#findings-body tr")  # noqa: E731
    info = browser.find_element(By.ID, "page-info")
    assert info.text.startswith(f"1\u2013100 of {default} shown")  # FAIL, ERROR, WAIVED by default
    assert {r.get_attribute("data-status") for r in rows()} == {"FAIL"}
    browser.find_element(By.CSS_SELECTOR, "input[data-status-filter][value=PASS]").click()
    assert f" of {with_pass} shown" in info.text
    browser.find_element(By.CSS_SELECTOR, "input[data-status-filter][value=FAIL]").click()
    assert f" of {with_pass - summary['FAIL']} shown" in info.text
    shown = {r.get_attribute("data-status") for r in rows()}  # ERROR sorts before PASS
    assert "FAIL" not in shown and shown <= {"ERROR", "WAIVED", "PASS"}
    for status in ("ERROR", "WAIVED"):
        browser.find_element(By.CSS_SELECTOR, f"input[data-status-filter][value={status}]").click()
    assert {r.get_attribute("data-status") for r in rows()} == {"PASS"}
    for status in ("FAIL", "ERROR", "WAIVED"):
        browser.find_element(By.CSS_SELECTOR, f"input[data-status-filter][value={status}]").click()
    search = browser.find_element(By.ID, "f-search")
    search.send_keys("pg_hba.conf line 3")
    texts = [r.text for r in rows()]
    assert texts and all("pg_hba.conf line 3" in t for t in texts)
    search.clear()
    browser.execute_script("arguments[0].value='';arguments[0].dispatchEvent(new Event('input'))", search)
    browser.find_element(By.ID, "page-next").click()
    assert info.text.startswith(f"101\u2013200 of {with_pass}")
    # the framework table's status filter hides the other requirements
    table = browser.find_element(By.ID, "req-bsi-grundschutz")
    before = len([r for r in table.find_elements(By.CSS_SELECTOR, "tbody tr") if r.is_displayed()])
    select = browser.find_element(By.CSS_SELECTOR, "select[data-req-filter=req-bsi-grundschutz]")
    select.find_element(By.CSS_SELECTOR, "option[value=violated]").click()
    visible = [r for r in table.find_elements(By.CSS_SELECTOR, "tbody tr") if r.is_displayed()]
    assert 0 < len(visible) < before
    assert {r.get_attribute("data-status") for r in visible} == {"violated"}


def hostile_result() -> ScanResult:
    control = Control(HOSTILE[:5] + "-1", HOSTILE, Severity.HIGH, "demo", "demo.check", remediation=HOSTILE_ATTR)
    control = dataclasses.replace(control, id="EVIL-1")
    resource = Resource("t-<b>x</b>", "item", HOSTILE, f"demo://t/{HOSTILE_ATTR}")
    findings = (
        Finding("EVIL-1", resource, Status.FAIL, f"message {HOSTILE}", observed={"k": HOSTILE_ATTR}, expected=HOSTILE),
    )
    target = TargetSummary("t-<b>x</b>", "demo", "demo://t", section_errors={"sec<i>": f"denied {HOSTILE}"})
    return ScanResult(
        "0", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", {"EVIL-1": control}, findings, (target,), notes=(HOSTILE,)
    )


def test_target_supplied_text_is_rendered_as_text(browser: webdriver.Chrome, tmp_path: Path) -> None:
    page = tmp_path / "hostile.html"
    page.write_text(HtmlReporter().render(hostile_result(), ReportOptions()), encoding="utf-8")
    console, requests = open_page(browser, page)
    assert console == [] and requests == [page.resolve().as_uri()]
    assert browser.execute_script("return document.scripts.length") == 2  # the data block and ours, nothing injected
    assert browser.find_elements(By.ID, "injected") == []
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    body = browser.find_element(By.TAG_NAME, "body").text
    assert HOSTILE in body  # shown literally: in the notes, the control, the findings table
    row = browser.find_element(By.CSS_SELECTOR, "#findings-body tr")
    assert HOSTILE in row.text and f"message {HOSTILE}" in row.text


def test_a_hundred_thousand_findings_render_one_page(browser: webdriver.Chrome, tmp_path: Path) -> None:
    base = hostile_result()
    findings = tuple(
        Finding(
            "EVIL-1",
            Resource("t", "item", f"item-{i}", f"demo://t/items/{i}"),
            Status.FAIL if i % 3 else Status.PASS,
            f"message {i}",
        )
        for i in range(100_000)
    )
    result = dataclasses.replace(base, findings=findings, targets=(TargetSummary("t", "demo", "demo://t"),))
    page = tmp_path / "big.html"
    page.write_text(HtmlReporter().render(result, ReportOptions()), encoding="utf-8")
    console, _ = open_page(browser, page)
    assert console == []
    assert len(browser.find_elements(By.CSS_SELECTOR, "#findings-body tr")) == 100
    assert "of 66666 shown (100000 findings in the scan)" in browser.find_element(By.ID, "page-info").text


def test_sovscan_writes_html_with_the_reporter_entry_point(tmp_path: Path, sovscan: Invoke) -> None:
    out = tmp_path / "r.html"
    run = sovscan("scan", "--evidence", DEMO_EVIDENCE, "-f", f"html={out}", "--fail-on", "none")
    assert run.exit_code in (0, 3), run.output  # 3: the demo evidence has ERRORs (S3 config not read)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in text


def test_the_console_check_catches_a_csp_violation(
    browser: webdriver.Chrome, demo_report: Path, tmp_path: Path
) -> None:
    """The no-console-errors assertion can fail: a script the CSP hash does not allow is reported."""
    tampered = tmp_path / "tampered.html"
    tampered.write_text(demo_report.read_text(encoding="utf-8").replace('"use strict";', '"use strict"; ', 1))
    console, _ = open_page(browser, tampered)
    assert any(e["level"] == "SEVERE" and "Content Security Policy" in e["message"] for e in console), console


def test_raw_page_has_no_external_reference_and_no_injected_markup() -> None:
    text = HtmlReporter().render(hostile_result(), ReportOptions())
    assert text.count("<script") == 2 and "<img" not in text and "<link" not in text
    tags = re.findall(r"<[a-zA-Z][^<>]*>", text)
    assert not [t for t in tags if re.search(r"\s(src|style|href|on[a-z]+)=", t) and not t.startswith('<a href="#')]
    assert "url(" not in text and "@import" not in text
    assert HOSTILE not in text  # every occurrence is escaped (as &lt;script&gt; or \\u003cscript\\u003e)


def test_waivers_unread_sections_and_notes_are_listed() -> None:
    from scanner.model import Waiver

    base = hostile_result()
    waiver = Waiver("EVIL-1", "demo://t/*", "accepted until the migration", "ops@example.org", "2026-06-30", "SEC-42")
    waived = dataclasses.replace(base.findings[0], status=Status.WAIVED, waiver=waiver)
    text = HtmlReporter().render(dataclasses.replace(base, findings=(waived,)), ReportOptions())
    waivers = text[text.index('id="waivers"') : text.index('id="unread"')]
    for value in ("ops@example.org", "2026-06-30", "SEC-42", "accepted until the migration"):
        assert value in waivers
    unread = text[text.index('id="unread"') :]
    assert "sec&lt;i&gt;" in unread and "denied &lt;script&gt;" in unread
