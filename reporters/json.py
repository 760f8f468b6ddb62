"""The native JSON result (complete: every finding, every status); schema in scanner/schema/result.schema.json."""

from __future__ import annotations

from collections.abc import Iterator

from scanner import resultio
from scanner.interface import Reporter, ReportOptions
from scanner.model import ScanResult


class JsonReporter(Reporter):
    """Writes the native, versioned JSON result that `report --from` and `--compare` read back."""

    name = "json"
    description = "complete native JSON result (versioned schema)"
    extension = ".json"

    def render(self, result: ScanResult, options: ReportOptions) -> str:
        """Serialise the whole result."""
        return resultio.dumps(result)

    def chunks(self, result: ScanResult, options: ReportOptions) -> Iterator[bytes]:
        """The same text, streamed one finding at a time."""
        return resultio.chunks(result)
