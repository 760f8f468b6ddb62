"""Size and load time of the HTML report for large scans (real headless Chromium).

    .venv/bin/python bench/html_bench.py [N ...]      # default 1000 10000 100000 findings

For each N: render time in Python, file size, and in Chromium the time from navigation to the
page's script having drawn the first page (`data-ready`), and the time a search filter takes.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reporters.html import HtmlReporter, statistics
from scanner.interface import ReportOptions
from scanner.model import Control, Finding, Resource, ScanResult, Severity, Status, TargetSummary
from tests.compliance.browser import chromium, open_page


def result(n: int) -> ScanResult:
    controls = {
        f"K8S-{i:02d}": Control(f"K8S-{i:02d}", f"control {i}", Severity.HIGH, "kubernetes", "x") for i in range(50)
    }
    statuses = (Status.PASS, Status.FAIL, Status.PASS, Status.NOT_APPLICABLE, Status.ERROR)
    findings = tuple(
        Finding(
            f"K8S-{i % 50:02d}",
            Resource(
                f"cluster-{i % 5}",
                "Deployment",
                f"team-{i % 97}/app-{i}",
                f"k8s://cluster-{i % 5}/ns/team-{i % 97}/Deployment/app-{i}",
            ),
            statuses[i % 5],
            f"container app-{i} runs as root",
            observed={"runAsNonRoot": False, "index": i},
            expected={"runAsNonRoot": True},
        )
        for i in range(n)
    )
    targets = tuple(TargetSummary(f"cluster-{i}", "kubernetes", f"k8s://cluster-{i}") for i in range(5))
    return ScanResult("0", "2026-01-01T00:00:00Z", "2026-01-01T00:10:00Z", controls, findings, targets)


def main(sizes: list[int]) -> None:
    with chromium() as driver, tempfile.TemporaryDirectory() as tmp:
        print(f"{'findings':>9} {'render s':>9} {'MB':>7} {'load s':>7} {'search s':>9}")
        for n in sizes:
            scan = result(n)
            start = time.perf_counter()
            text = HtmlReporter().render(scan, ReportOptions())
            render = time.perf_counter() - start
            page = Path(tmp) / f"r{n}.html"
            page.write_text(text, encoding="utf-8")
            start = time.perf_counter()
            console, _ = open_page(driver, page)
            load = time.perf_counter() - start
            assert not console, console
            start = time.perf_counter()
            driver.execute_script(
                "var s=document.getElementById('f-search');s.value='app-4242';s.dispatchEvent(new Event('input'));"
            )
            driver.find_element("id", "page-info").text  # noqa: B018 - waits for the script's update
            search = time.perf_counter() - start
            mb = statistics(text)["bytes"] / 1e6
            print(f"{n:>9} {render:>9.2f} {mb:>7.1f} {load:>7.2f} {search:>9.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10_000, 100_000])
