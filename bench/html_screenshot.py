"""Regenerate examples/html-report.png: the demo scan's HTML report in headless Chromium.

    .venv/bin/python bench/html_screenshot.py

Scans the shipped demo evidence three times into a throwaway history store (so the trend chart
has points), with the BSI IT-Grundschutz and NIS2 views, and screenshots the top of the page.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.compliance.browser import chromium, open_page  # noqa: E402


def main() -> None:
    sovscan = str(Path(sys.executable).parent / "sovscan")
    with tempfile.TemporaryDirectory() as tmp:
        store = f"sqlite:{tmp}/history.sqlite"
        base = [sovscan, "scan", "--evidence", str(ROOT / "examples" / "evidence"), "--store", store]
        for _ in range(2):  # the demo fails its gate (exit 1) by design
            subprocess.run([*base, "-f", f"json={tmp}/r.json"], check=False, capture_output=True)
        page = Path(tmp) / "report.html"
        subprocess.run(
            [*base, "--compare", "last", "-f", f"html={page}", "--framework", "bsi-grundschutz", "--framework", "nis2"],
            check=False,
            capture_output=True,
        )
        with chromium() as driver:
            driver.set_window_size(1400, 2200)
            console, _ = open_page(driver, page)
            assert not console, console
            out = ROOT / "examples" / "html-report.png"
            driver.save_screenshot(str(out))
            print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
