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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import yaml_rs

from checks.kubernetes.slim import EvidenceBuilder
from scanner.errors import CollectionError

SlowReader = Callable[[EvidenceBuilder, IO[str], str, int], int]
"""The PyYAML reader: (builder, stream, display, documents before this one) -> documents read."""

MAX_TEXT = 64 << 20
"""Largest file read whole for the fast path (characters); a larger one is streamed by PyYAML."""

_FILE_CHARS = re.compile(r"[\ufeff\r\x85\u2028\u2029]")
"""Whole-file PyYAML: a BOM, CR or another line break PyYAML counts (lines are counted here by LF)."""
_FILE_MARKS = re.compile(r"\n(?:%|\.\.\.(?=[ \t\n]|\Z))")
"""Whole-file PyYAML: a directive or a `...` document end marker."""

_MARKER = re.compile(r"\n---(?=[ \t\n]|\Z)")
"""A `---` document marker (its line feed before it: the text scanned begins with one)."""
_PLAIN_MARKER = re.compile(r"[ ]*+(?:#[^\n]*+)?+(?=\n|\Z)")
_LEADING = re.compile(r"(?:[ ]*+(?:#[^\n]*+)?+\n)*+")
_NO_CONTENT = re.compile(r"(?:[ ]*+(?:#[^\n]*+)?+(?:\n|\Z))*+")

_TERM = r"(?=[ ]*+(?:\n|\Z)|[ ]++#)"  # the end of a plain scalar on its line (comments allowed)
_KEY_TERM = r"(?=[ ]*+:(?:[ ]|\n|\Z))"
_SPECIAL = r"(?i:y|n|yes|no|on|off|true|false|null|nan|inf|infinity)"
_SAFE = (
    # values both readers resolve alike: booleans, null, plain decimals (never as keys)
    r"(?:true|True|TRUE|false|False|FALSE|null|Null|NULL|~|-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,17})?"
    r"|\{\}|\[\]|[|>][-+]?)"
    + _TERM
    # text in both whatever follows: UIDs, dotted versions and addresses, flags, quantities, dates
    + r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![0-9A-Za-z])"
    r"|[0-9]++(?:\.[0-9]++){2,}|--?[a-zA-Z]"
    r"|[0-9]{1,12}(?:\.[0-9]{1,6})?(?:Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|s|ms|h|d)"
    + _TERM
    + r"|[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?Z)?"
    + _TERM
    # words: text unless one of the special words (either reader's, any case) on their own
    + r"|(?!"
    + _SPECIAL
    + r"(?:"
    + _TERM
    + r"|"
    + _KEY_TERM
    + r"))(?:[yYnNoOtTfF][a-zA-Z0-9_]|[_<=~][a-zA-Z])"
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
"""Sixteen compact `- ` entries on one line (each is a level of nesting)."""
_DEEP_INDENT = "\n" + " " * 100
"""Deep nesting: yaml-rs overflows its stack on it (PyYAML refuses it at a few hundred levels)."""
_MANY_LINES = 50_000
_SCANS = (_CHARS, _LINE_NODES, _VALUE_NODES, _DASHES)
_BLOCK = re.compile(r"[|>][-+]?[ ]*+(?:#[^\n]*+)?+(?=\n|\Z)")
"""A block scalar's header (`|`, `>-`, ...) at the end of its line."""
_NODE_COLUMN = re.compile(r"[ ]*+(?:-[ ]++)*+")
_NEXT_INDENT = re.compile(r"(?:\n[ ]*+(?=\n))*+\n([ ]*+)(?=[^ \n])")


def _flagged(text: str, starts: list[int], plain_chars: bool = False) -> set[int]:
    """The indexes of the regions (documents) of `text` (regions begin at `starts`) that need PyYAML.

    `text` begins with a line feed, so every line, the first too, follows one. `plain_chars`:
    the caller knows the text holds printable ASCII and line feeds only.
    """
    out: set[int] = set()
    last = len(starts) - 1
    for scan in _SCANS[1:] if plain_chars else _SCANS:  # _SCANS[0] is _CHARS
        search = scan.search
        found = search(text)
        while found is not None:
            index = bisect_right(starts, found.start()) - 1
            out.add(index)
            if index == last:
                break
            found = search(text, starts[index + 1])
    for header in _block_headers(text):  # yaml-rs reads a block scalar with no content as "\\n", PyYAML as ""
        line = text.rfind("\n", 0, header.start() + 1) + 1
        column = _NODE_COLUMN.match(text, line)
        content = _NEXT_INDENT.match(text, header.end())
        if column is None or content is None or len(content.group(1)) <= column.end() - line:
            out.add(bisect_right(starts, header.start()) - 1)
    for needle in ("<<", _DEEP_INDENT):
        position = text.find(needle)
        while position >= 0:
            index = bisect_right(starts, position) - 1
            out.add(index)
            if index == last:
                break
            position = text.find(needle, starts[index + 1])
    return out


def _block_headers(text: str) -> Iterator[re.Match[str]]:
    """Every block scalar header (`|`, `>-`, ...) ending its line, after a space or at a line's start."""
    for indicator in "|>":
        position = text.find(indicator)
        while position >= 0:
            if text[position - 1] in " \n":
                header = _BLOCK.match(text, position)
                if header is not None:
                    yield header
            position = text.find(indicator, position + 1)


def needs_pyyaml(document: str) -> bool:
    """Whether a document's text must be read by PyYAML (the conservative pre-scan)."""
    return bool(_flagged("\n" + document, [0]))


def _maybe_too_many_nodes(body: str) -> bool:
    """Whether a document might hold more than `offline.MAX_OBJECT_NODES` nodes (PyYAML refuses those).

    In block style (flow is PyYAML's) every line holds at most 17 entries (16 compact `- `, one
    more), so a document of fewer than 50,000 lines cannot reach a million.
    """
    return len(body) >= _MANY_LINES * 2 and body.count("\n") >= _MANY_LINES


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
    builder: EvidenceBuilder,
    text: str,
    display: str,
    slow: SlowReader,
    tally: Tally | None = None,
    name: str = "<file>",
) -> int:
    """Read every document of a manifest file's text into the builder; return the number of documents.

    `name` is the stream's name, as PyYAML's messages give it (the file's path, `<stdin>`).
    """
    tally = tally if tally is not None else Tally()
    text = "\n" + text  # offsets below are one more than in the file
    ascii = text.isascii()
    if ("\r" in text if ascii else _FILE_CHARS.search(text)) or _FILE_MARKS.search(text):
        count = slow(builder, _named(text[1:], name), display, 0)
        tally.slow += count
        return count
    markers = [m.start() for m in _MARKER.finditer(text)]
    starts = [0, *markers]
    slow_regions = _flagged(text, starts, plain_chars=ascii and text.replace("\n", " ").isprintable())
    if not text.endswith("\n"):
        slow_regions.add(len(starts) - 1)  # yaml-rs ends a block scalar at the end of input with a line feed
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
        body = text[body_start:end]
        fast = index not in slow_regions and not _maybe_too_many_nodes(body)
        if fast:
            try:
                doc = loads(body, parse_datetime=False)
            except (yaml_rs.YAMLDecodeError, ValueError, TypeError, OverflowError):
                fast = False
            else:
                fast = not _is_list(doc)
        if not fast:
            read = _slow_document(builder, text, (doc_start, end, doc_line), count, display, slow, name)
            tally.slow += read
            count += read
            continue
        leading = _LEADING.match(body)
        first = doc_line + (body_start > doc_start) + (body.count("\n", 0, leading.end()) if leading else 0)
        count += 1
        tally.fast += 1
        builder.add(doc, None, {"file": display, "line": first, "doc": count})
    return count


def _named(text: str, name: str) -> io.StringIO:
    """A text as a stream PyYAML names in its messages as it names the file."""
    stream = io.StringIO(text)
    stream.name = name
    return stream


def _slow_document(
    builder: EvidenceBuilder,
    text: str,
    where: tuple[int, int, int],
    before: int,
    display: str,
    slow: SlowReader,
    name: str,
) -> int:
    """One document (`where`: start, end, first line) read by PyYAML at its place in the file."""
    start, end, line = where
    padded = "\n" * (line - 1) + text[start:end]  # the document at its own line
    try:
        return slow(builder, _named(padded, name), display, before)
    except CollectionError:
        slow(EvidenceBuilder(), _named(text[1:], name), display, 0)  # the whole file's own error, as PyYAML names it
        raise
