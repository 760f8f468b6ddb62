"""The fast path of the manifest reader: plain documents parsed by yaml-rs, every other one by PyYAML.

PyYAML pays a Python call per node; yaml-rs (Rust) parses the same text about ten times
faster, but it reads YAML 1.2 and gives no line marks. So a file is split into its documents
at C speed (a regular expression over the text finds the `---` markers, and with them each
document's first line), and a conservative pre-scan of each document's text looks for anything
where YAML 1.1 (PyYAML, what Kubernetes tooling writes and reads) and yaml-rs could disagree or
where yaml-rs is not safe: anchors, aliases, tags, merge keys, directives, flow collections,
block scalars with an indentation indicator, YAML 1.1 booleans (`yes`/`no`/`on`/`off`) and
every plain scalar starting like a number that is not a plain decimal, keys that are not
plainly text, tabs, carriage returns, BOMs and control characters, deep nesting (yaml-rs
overflows its stack on it) and very long keys. A document the pre-scan passes is read by
yaml-rs; any other one, and any one yaml-rs refuses or that is a `kind: List` (its items need
their own lines), is read by PyYAML exactly as before (`offline.read_yaml_pyyaml`), so the
result is identical to the PyYAML reader's by construction. An error found on the PyYAML path
is reported as the PyYAML reader reports it for the whole file (the same message and line).
"""

from __future__ import annotations

import io
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import yaml_rs

from checks.kubernetes.slim import EvidenceBuilder
from scanner.errors import CollectionError

SlowReader = Callable[[EvidenceBuilder, IO[str], str, int], int]
"""The PyYAML reader: (builder, stream, display, documents before this one) -> documents read."""

MAX_TEXT = 64 << 20
"""Largest file read whole for the fast path (characters); a larger one is streamed by PyYAML."""

_FILE_SLOW = re.compile(r"[\ufeff\r\x85\u2028\u2029]|\n%|\n\.\.\.(?=[ \t\n]|\Z)")
"""Whole-file PyYAML: a BOM, CR or another line break PyYAML counts, a directive, a `...` marker."""

_MARKER = re.compile(r"\n---(?=[ \t\n]|\Z)")
_PLAIN_MARKER = re.compile(r"[ ]*+(?:#[^\n]*+)?+(?=\n|\Z)")
_LEADING = re.compile(r"(?:[ ]*+(?:#[^\n]*+)?+\n)*+")
_NO_CONTENT = re.compile(r"(?:[ ]*+(?:#[^\n]*+)?+(?:\n|\Z))*+")

_TERM = r"(?=[ ]*+(?:\n|\Z)|[ ]++#)"  # the end of a plain scalar on its line (comments allowed)
_KEY_TERM = r"(?=:(?:[ ]|\n|\Z))"
_SPECIAL = r"(?i:y|n|yes|no|on|off|true|false|null|nan|inf|infinity)"
_SAFE = (
    # values both readers resolve alike: booleans, null, plain decimals (never as keys)
    r"(?:true|True|TRUE|false|False|FALSE|null|Null|NULL|~|-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,17})?"
    r"|\{\}|\[\]|[|>][-+]?)" + _TERM
    # text in both whatever follows: UIDs, dotted versions and addresses, flags, quantities, dates
    + r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![0-9A-Za-z])"
    r"|[0-9]++(?:\.[0-9]++){2,}|--?[a-zA-Z]"
    r"|[0-9]{1,12}(?:\.[0-9]{1,6})?(?:Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|s|ms|h|d)" + _TERM
    + r"|[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?Z)?" + _TERM
    # words: text unless one of the special words (either reader's, any case) on their own
    + r"|(?!" + _SPECIAL + r"(?:" + _TERM + r"|" + _KEY_TERM + r"))(?:[yYnNoOtTfF][a-zA-Z0-9_]|[_<=~][a-zA-Z])"
)
_INTERESTING = r"[-+.0-9yYnNoOtTfF_<=~,\[\]{}&*!|>%@`?:\"']"
_CHECK = r"(?=" + _INTERESTING + r")(?![\"']|" + _SAFE + r")"
_LINE_NODES = re.compile(r"\n(?!---(?:[ \t\n]|\Z))[ ]*+(?:-(?=[ \n]|\Z)[ ]*+)*+" + _CHECK)
"""A node at the start of a line (after indentation and `- `) that could read differently, or a property."""
_VALUE_NODES = re.compile(r":[ ]++" + _CHECK)
"""The same after `: `: in block context these are the only places a node can begin (flow is refused)."""
_CHARS = re.compile(r"[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
"""Tabs, control characters, line breaks other than LF."""
_DASHES = re.compile(r"-[ ]++" * 15 + r"-[ ]")
_LONG = re.compile(r"\n[^\n:]{1000}")
_DEEP_INDENT = "\n" + " " * 100
_SCANS = (_CHARS, _LINE_NODES, _VALUE_NODES, _DASHES, _LONG)


def _flagged(text: str, starts: list[int]) -> set[int]:
    """The indexes of the regions (documents) of `text` (regions begin at `starts`) that need PyYAML.

    `text` begins with a line feed, so every line, the first too, follows one.
    """
    out: set[int] = set()
    last = len(starts) - 1
    for scan in _SCANS:
        search = scan.search
        found = search(text)
        while found is not None:
            index = bisect_right(starts, found.start()) - 1
            out.add(index)
            if index == last:
                break
            found = search(text, starts[index + 1])
    for needle in ("<<", _DEEP_INDENT):
        position = text.find(needle)
        while position >= 0:
            index = bisect_right(starts, position) - 1
            out.add(index)
            if index == last:
                break
            position = text.find(needle, starts[index + 1])
    return out


def needs_pyyaml(document: str) -> bool:
    """Whether a document's text must be read by PyYAML (the conservative pre-scan)."""
    return bool(_flagged("\n" + document, [0]))


def _is_list(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    kind = doc.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list)


@dataclass
class Tally:
    """How many documents went down each path (the benchmark and the tests read it)."""

    fast: int = 0
    """Documents read by yaml-rs."""
    slow: int = 0
    """Documents read by PyYAML (a file read whole by PyYAML counts all of its documents)."""


def read_text(
    builder: EvidenceBuilder, text: str, display: str, slow: SlowReader, tally: Tally | None = None
) -> int:
    """Read every document of a manifest file's text into the builder; return the number of documents."""
    tally = tally if tally is not None else Tally()
    text = "\n" + text  # offsets below are one more than in the file
    if _FILE_SLOW.search(text):
        count = slow(builder, io.StringIO(text[1:]), display, 0)
        tally.slow += count
        return count
    markers = [m.start() for m in _MARKER.finditer(text)]
    starts = [0, *markers]
    slow_regions = _flagged(text, starts)
    ends = [*markers, len(text)]
    count = 0
    line = 0  # the line (from 1) of each region's first character, counted as the scan goes
    position = 0
    loads = yaml_rs.loads
    for index, start in enumerate(starts):
        end = ends[index]
        line += text.count("\n", position, start)
        position = start
        if index == 0:
            if end <= 1 or _NO_CONTENT.fullmatch(text, 1, end):
                continue  # comments before the first `---` are no document
            doc_start, doc_line, body_start = 1, 1, 1
        else:  # a region starts with the line feed before its `---`; its document, with the `---`
            eol = text.find("\n", start + 4, end)
            eol = end if eol < 0 else eol
            if not _PLAIN_MARKER.fullmatch(text, start + 4, eol):
                slow_regions.add(index)  # something after the `---` on its line
            doc_start, doc_line, body_start = start + 1, line + 1, min(eol + 1, end)
        doc: Any = None
        fast = index not in slow_regions
        body = text[body_start:end]
        if fast:
            try:
                doc = loads(body, parse_datetime=False)
            except (yaml_rs.YAMLDecodeError, ValueError, TypeError, OverflowError):
                fast = False
            else:
                fast = not _is_list(doc)
        if not fast:
            read = _slow_document(builder, text, doc_start, end, doc_line, count, display, slow)
            tally.slow += read
            count += read
            continue
        leading = _LEADING.match(body)
        first = doc_line + (body_start > doc_start) + (body.count("\n", 0, leading.end()) if leading else 0)
        count += 1
        tally.fast += 1
        builder.add(doc, None, {"file": display, "line": first, "doc": count})
    return count


def _slow_document(
    builder: EvidenceBuilder, text: str, start: int, end: int, line: int, before: int, display: str, slow: SlowReader
) -> int:
    """One document read by PyYAML at its place in the file (its lines and document number kept)."""
    padded = "\n" * (line - 1) + text[start:end]  # the document at its own line
    try:
        count = slow(builder, io.StringIO(padded), display, before)
    except CollectionError:
        slow(EvidenceBuilder(), io.StringIO(text[1:]), display, 0)  # the whole file's own error, as PyYAML names it
        raise
    return count
