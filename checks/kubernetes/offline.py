"""Offline Kubernetes input: manifest files and directories, and `kubectl get -o json` dumps.

Manifests are read document by document (multi-document files, Helm-rendered output, `kind:
List` documents): plain documents by yaml-rs, every other one by PyYAML's C loader
(`fastyaml`, with the same result as the PyYAML reader), dumps are streamed item by item out of the
`items` array of a List, so memory holds one raw object at a time. Every object keeps its
file and line (and, for manifests, its document number) so reports can point at it. A large
dump file may be read by several processes at once (`read_dump_split`), with the same result.
"""

from __future__ import annotations

import codecs
import json
import mmap
import operator
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

import yaml

from checks.kubernetes import fastyaml
from checks.kubernetes.slim import KEPT_ANNOTATIONS, USED_KINDS, EvidenceBuilder, YamlLoader
from scanner.errors import CollectionError, ConfigError
from scanner.operators import BOOLEAN_SPELLINGS
from scanner.workers import WorkerFailed, WorkerProcess, allowance, allowance_deadline
from scanner.yamlfile import check_node_graph, reject_duplicate_keys

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
"""File suffixes read from a manifest directory."""

_CHUNK = 1 << 20
_LOW_WATER = 1 << 18
_WS = " \t\r\n"

SPLIT_MIN_BYTES = 32 << 20
"""A dump file at least this large is read by several processes when the engine allows them
(`scanner.workers.allowance`): the items of its List are cut into parts, one per process."""
_SPLIT_LEAD = 0.10
"""How much further than an equal share (in parts) each cut lies: the scanning process also merges
the parts (unpickling them), a helper also counts the lines before its part and pickles it."""
_PART_HOOK: Callable[[int], None] | None = None
"""Tests only: called in each helper process with its part number before it reads (to make one fail)."""


def manifest_files(path: Path) -> list[Path]:
    """The files to read for a manifest path: the file itself, or a directory's YAML/JSON files, sorted."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise CollectionError(CollectionError.UNREACHABLE, f"no such file or directory: {path}")
    found: list[Path] = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / f for f in files if f.endswith(MANIFEST_SUFFIXES) and not f.startswith("."))
    return sorted(found)


def _display(path: Path) -> str:
    return path.as_posix()


def _list_kind(kind: str) -> str:
    return kind[: -len("List")] if kind.endswith("List") and kind != "List" else ""


def _add_document(builder: EvidenceBuilder, doc: Any, source: dict[str, Any]) -> None:
    if not isinstance(doc, dict):
        return
    kind = doc.get("kind")
    items = doc.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        item_kind = _list_kind(kind) or None
        for index, item in enumerate(items, start=1):
            hint = item_kind if isinstance(item, dict) and not item.get("kind") else None
            builder.add(item, hint, source | {"item": index})
        return
    builder.add(doc, None, source)


_TAG = "tag:yaml.org,2002:"
_STR, _INT, _BOOL, _NULL = _TAG + "str", _TAG + "int", _TAG + "bool", _TAG + "null"
_FLOAT, _TIMESTAMP, _MERGE = _TAG + "float", _TAG + "timestamp", _TAG + "merge"
_TRUE = BOOLEAN_SPELLINGS["yaml11"].true

MAX_OBJECT_NODES = 1_000_000
"""Most YAML nodes one object (a document or a List item) may expand to through aliases.

The API server stores at most about 1.5 MB per object, far fewer nodes than this; an alias bomb
(billion laughs) inside a Pod is refused at this budget instead of filling memory."""
_SKIP_TOP = frozenset({"status"})
_SKIP_META = frozenset({"managedFields"})
_USED_KINDS = USED_KINDS  # the builder's list: kinds whose bodies it reads (workloads, config files)


class NodeConverter:
    """Turns composed YAML nodes into plain data faster than PyYAML's Python SafeConstructor.

    The C parser (CSafeLoader) still scans, parses and resolves tags; this replaces only the
    construction step, which is pure Python in PyYAML and the larger half of the cost. It also
    never builds what sovscan drops: `status`, `metadata.managedFields` and annotations (except
    those of `slim.KEPT_ANNOTATIONS`), and all
    but the metadata of Secrets, unused ConfigMaps and kinds the checks do not read. Timestamps
    stay strings (JSON-safe). Mappings with merge keys (`<<`) fall back to SafeConstructor.
    """

    def __init__(self) -> None:
        self._fallback = yaml.constructor.SafeConstructor()
        self._left = MAX_OBJECT_NODES

    def _spend(self, node: yaml.Node) -> None:
        """Count a container's children against the object's node budget (aliases are counted each time)."""
        self._left -= len(node.value)
        if self._left < 0:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"the object expands to more than {MAX_OBJECT_NODES:,} nodes (an alias bomb?)",
                node.start_mark,
            )

    def _merged(self, node: yaml.Node) -> Any:
        """A mapping with merge keys (`<<`), built by PyYAML once it is known to be bounded and acyclic."""
        try:
            check_node_graph(node, "", max(0, self._left))
            reject_duplicate_keys(node, "")
        except ConfigError as exc:
            raise yaml.constructor.ConstructorError(None, None, exc.message, node.start_mark) from None
        return self._fallback.construct_document(node)

    @staticmethod
    def _duplicate(key: Any, key_node: yaml.Node) -> yaml.MarkedYAMLError:
        return yaml.constructor.ConstructorError(
            None, None, f"duplicate key {str(key)[:80]!r} (the API server refuses it)", key_node.start_mark
        )

    def document(self, node: yaml.Node) -> Any:
        """Convert one document (or a List item), skipping what the evidence never keeps."""
        self._left = MAX_OBJECT_NODES
        if not isinstance(node, yaml.MappingNode):
            return self.convert(node)
        self._spend(node)
        pairs = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
        kind_node = pairs.get("kind")
        kind = kind_node.value if isinstance(kind_node, yaml.ScalarNode) else None
        meta_node = pairs.get("metadata")
        out: dict[str, Any] = {}
        if kind not in _USED_KINDS and not (kind == "ConfigMap" and self._is_kubelet_config(meta_node)):
            for key in ("apiVersion", "kind", "metadata"):
                if key in pairs:
                    out[key] = self._metadata(pairs[key]) if key == "metadata" else self.convert(pairs[key])
            return out
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                return self._merged(node)
            key = self.convert(key_node)
            if key in _SKIP_TOP:
                continue
            if key in out:
                raise self._duplicate(key, key_node)
            out[key] = self._metadata(value_node) if key == "metadata" else self.convert(value_node)
        return out

    @staticmethod
    def _is_kubelet_config(meta: yaml.Node | None) -> bool:
        if not isinstance(meta, yaml.MappingNode):
            return False
        fields = {
            k.value: v.value for k, v in meta.value if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode)
        }
        return fields.get("namespace") == "kube-system" and fields.get("name") == "kubelet-config"

    def _metadata(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.MappingNode):
            return self.convert(node)
        self._spend(node)
        out = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                return self._merged(node)
            key = self.convert(key_node)
            if key in out:
                raise self._duplicate(key, key_node)
            if key == "annotations":
                kept = self._kept_annotations(value_node)
                if kept:
                    out[key] = kept
            elif key not in _SKIP_META:
                out[key] = self.convert(value_node)
        return out

    def _kept_annotations(self, node: yaml.Node) -> dict[str, Any]:
        """Only the annotations the builder keeps (`slim.KEPT_ANNOTATIONS`), never converting the others."""
        if not isinstance(node, yaml.MappingNode):
            return {}
        return {
            k.value: self.convert(v)
            for k, v in node.value
            if isinstance(k, yaml.ScalarNode) and k.value.startswith(KEPT_ANNOTATIONS)
        }

    def convert(self, node: yaml.Node) -> Any:
        """Convert any node (recursively; a recursive alias ends in RecursionError)."""
        tag = node.tag
        if tag == _STR:
            return node.value
        if isinstance(node, yaml.ScalarNode):
            value = node.value
            if tag == _INT:
                if value.isdigit() and (value[0] != "0" or value == "0"):
                    return int(value)
                return self._fallback.construct_yaml_int(node)  # signs, 0x, 0o, YAML 1.1 octal 0644, 1_000
            if tag == _BOOL:
                return value in _TRUE
            if tag == _NULL:
                return None
            if tag == _FLOAT:  # .inf/.nan stay floats here; the engine makes them text before any check or report
                return self._fallback.construct_yaml_float(node)
            return value  # timestamps stay strings; unknown local tags keep their text
        convert = self.convert
        self._left -= len(node.value)
        if self._left < 0:
            self._spend(node)
        if isinstance(node, yaml.SequenceNode):
            return [convert(child) for child in node.value]
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _STR:
                key = key_node.value
            elif key_node.tag == _MERGE:
                return self._merged(node)
            else:
                key = convert(key_node)
                if isinstance(key, list | dict):
                    raise yaml.constructor.ConstructorError(None, None, "found an unhashable key", key_node.start_mark)
            if key in out:
                raise self._duplicate(key, key_node)
            out[key] = convert(value_node)
        return out


_RESOLVER_STARTS = frozenset(c for c in YamlLoader.yaml_implicit_resolvers if c)
_SLOW_STARTS = _RESOLVER_STARTS | {""}  # an empty plain scalar is null: resolved by PyYAML
_NO_WILDCARD = None not in YamlLoader.yaml_implicit_resolvers
_RESOLVED: dict[tuple[str, tuple[bool, bool]], str] = {}
_RESOLVED_MAX = 200_000
_SEQUENCE_TAG = YamlLoader.DEFAULT_SEQUENCE_TAG
_MAPPING_TAG = YamlLoader.DEFAULT_MAPPING_TAG


class FastLoader(YamlLoader):  # type: ignore[misc]
    """PyYAML's C loader with the implicit-tag resolution of plain scalars memoised.

    The C parser calls back into Python for every node: `descend_resolver` and `ascend_resolver`
    around it and `resolve` for its tag. With SafeLoader's resolvers (no path resolvers) the two
    hooks do nothing, so they are C built-ins that accept and ignore their arguments (a Python
    no-op was 2.8M calls for 100k objects); a sequence or mapping gets its default tag at once,
    and a scalar's tag depends only on its text and style, so it is cached.
    """

    descend_resolver = operator.is_  # C built-in taking (node, index): no Python frame per node
    ascend_resolver = tuple  # C built-in taking no argument

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        """Resolve a node's tag: quoted scalars and plain ones no implicit resolver starts with are str."""
        if kind is yaml.ScalarNode:
            if not implicit[0] or value[:1] not in _SLOW_STARTS:
                return _STR
            key = (value, implicit)
            tag = _RESOLVED.get(key)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_RESOLVED) < _RESOLVED_MAX:
                    _RESOLVED[key] = tag
            return tag
        return _SEQUENCE_TAG if kind is yaml.SequenceNode else _MAPPING_TAG


if not _NO_WILDCARD:  # pragma: no cover - only if a resolver for every first character was registered
    del FastLoader.resolve


def read_yaml_stream(builder: EvidenceBuilder, stream: IO[str], display: str) -> int:
    """Read every document of a YAML stream into the builder; return the number of documents.

    `kind: List` documents are expanded, each item keeping the line where it starts. Plain
    documents are parsed by yaml-rs and every other one by PyYAML (`fastyaml`), with the same
    result as `read_yaml_pyyaml`; an input larger than `fastyaml.MAX_TEXT` is streamed by PyYAML.
    """
    text = stream.read(fastyaml.MAX_TEXT + 1)
    if len(text) > fastyaml.MAX_TEXT:
        return read_yaml_pyyaml(builder, _Chained(text, stream), display)
    return fastyaml.read_text(builder, text, display, read_yaml_pyyaml, name=getattr(stream, "name", "<file>"))


class _Chained:
    """A text already read followed by the rest of its stream, as one readable stream."""

    def __init__(self, head: str, rest: IO[str]) -> None:
        self._head = head
        self._rest = rest
        self.name = getattr(rest, "name", "<file>")
        """The stream's name, as PyYAML's messages give it."""

    def read(self, size: int = -1) -> str:
        """Up to `size` characters (all that is left with a negative size)."""
        if not self._head:
            return self._rest.read(size)
        if size < 0:
            out, self._head = self._head + self._rest.read(), ""
            return out
        out, self._head = self._head[:size], self._head[size:]
        return out


def read_yaml_pyyaml(builder: EvidenceBuilder, stream: IO[str] | _Chained, display: str, before: int = 0) -> int:
    """Read a YAML stream with PyYAML (the reference path); return the number of documents.

    `before` is the number of documents of the same file already read (a document read here
    alone by the fast path keeps its number in the file).
    """
    loader = FastLoader(stream)
    converter = NodeConverter()
    count = 0
    node: Any = None
    try:
        while loader.check_node():
            node = loader.get_node()
            count += 1
            if node is None:
                continue
            number = before + count
            line = node.start_mark.line + 1
            items_node = _list_items_node(node)
            if items_node is None:
                builder.add(converter.document(node), None, {"file": display, "line": line, "doc": number})
                continue
            header = converter.document(_without_items(node))
            item_kind = _list_kind(str(header.get("kind", ""))) if isinstance(header, dict) else ""
            for index, item_node in enumerate(items_node.value, start=1):
                item = converter.document(item_node)
                if isinstance(item, dict):
                    source = {"file": display, "line": item_node.start_mark.line + 1, "doc": number, "item": index}
                    builder.add(item, (item_kind or None) if not item.get("kind") else None, source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{display}:{mark.line + 1}" if mark is not None else display
        raise CollectionError(
            CollectionError.PROTOCOL, f"{where}: invalid YAML: {exc.problem or exc.context}"
        ) from None
    except yaml.YAMLError as exc:
        raise CollectionError(CollectionError.PROTOCOL, f"{display}: invalid YAML: {exc}") from None
    except RecursionError:
        raise _recursion_error(node, display) from None
    finally:
        loader.dispose()
    return count


def _recursion_error(node: yaml.Node | None, display: str) -> CollectionError:
    """Why converting a document ran out of stack: a recursive alias (at its line), or depth."""
    if node is not None:
        try:
            check_node_graph(node, display)
        except ConfigError as exc:
            return CollectionError(CollectionError.PROTOCOL, str(exc))
        where = f"{display}:{node.start_mark.line + 1}"
    else:
        where = display
    return CollectionError(CollectionError.PROTOCOL, f"{where}: invalid YAML: nested too deeply")


def _list_items_node(node: yaml.Node) -> yaml.SequenceNode | None:
    """The `items` sequence of a `kind: ...List` mapping document, or None."""
    if not isinstance(node, yaml.MappingNode):
        return None
    kind = items = None
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode):
            if key.value == "kind" and isinstance(value, yaml.ScalarNode):
                kind = value.value
            elif key.value == "items" and isinstance(value, yaml.SequenceNode):
                items = value
    if isinstance(kind, str) and kind.endswith("List") and items is not None:
        return items
    return None


def _without_items(node: yaml.MappingNode) -> yaml.MappingNode:
    pairs = [(k, v) for k, v in node.value if not (isinstance(k, yaml.ScalarNode) and k.value == "items")]
    return yaml.MappingNode(node.tag, pairs, node.start_mark, node.end_mark)


class _BadValue(ValueError):
    """A JSON value Kubernetes cannot hold (NaN, Infinity) or a duplicate key in a manifest."""


def _reject_constant(name: str) -> Any:
    raise _BadValue(f"{name} is not a number JSON (and so the API server) can hold")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object of a JSON manifest; a key given twice is refused, as the API server does."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _BadValue(f"duplicate key {key[:80]!r} (the API server refuses it)")
            seen.add(key)
    return out


class JsonStream:
    """Incremental reader of concatenated JSON values that streams the items of top-level Lists.

    Yields `(object, line)` for every Kubernetes object: each item of a `{"items": [...]}`
    List (the kind inferred from `PodList` and the like when items carry none), each element
    of a top-level array, and any other top-level object as itself. Only one item (plus a
    read-ahead chunk) is held in memory at a time. With a `split` (over a `_FileText`), helper
    processes read parts of the first streamed List's items, which then are not yielded here:
    they are already in the split's builder.
    """

    def __init__(
        self,
        stream: IO[str] | _FileText,
        display: str,
        chunk: int = _CHUNK,
        *,
        strict_keys: bool = False,
        split: _Split | None = None,
    ) -> None:
        self._stream = stream
        self._split = split
        self.at_cut = False
        """Set by `_bounded`: it stopped at the reader's limit, exactly where an item starts."""
        self._display = display
        self._chunk = chunk
        self._buf = ""
        self._pos = 0
        self._line = 1
        self._eof = False
        self._decoder = json.JSONDecoder(
            parse_constant=_reject_constant, object_pairs_hook=_unique_keys if strict_keys else None
        )

    def _fill(self, need: int = 1) -> bool:
        """Make at least `need` characters available after the position; False at end of input."""
        while len(self._buf) - self._pos < need and not self._eof:
            data = self._stream.read(self._chunk)
            if not data:
                self._eof = True
                break
            self._buf = self._buf[self._pos :] + data
            self._pos = 0
        return len(self._buf) - self._pos >= need

    def _advance(self, to: int) -> None:
        self._line += self._buf.count("\n", self._pos, to)
        self._pos = to

    def _skip_ws(self) -> str:
        """Skip whitespace; return the next character ('' at end of input)."""
        while True:
            if not self._fill():
                return ""
            buf, pos, end = self._buf, self._pos, len(self._buf)
            while pos < end and buf[pos] in _WS:
                pos += 1
            self._advance(pos)
            if pos < end:
                return buf[pos]

    def _error(self, message: str) -> CollectionError:
        return CollectionError(CollectionError.PROTOCOL, f"{self._display}:{self._line}: invalid JSON: {message}")

    def _expect(self, chars: str) -> str:
        char = self._skip_ws()
        if not char or char not in chars:
            raise self._error(f"expected {' or '.join(repr(c) for c in chars)}, found {char or 'end of input'!r}")
        self._advance(self._pos + 1)
        return char

    def _value(self) -> tuple[Any, int]:
        """Decode one JSON value at the position; return it and the line it starts on."""
        self._skip_ws()
        while True:
            if not self._eof and len(self._buf) - self._pos < _LOW_WATER:
                self._fill(self._chunk)
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._eof:
                    raise self._error(exc.msg) from None
                self._fill(len(self._buf) - self._pos + self._chunk)
                continue
            except _BadValue as exc:
                raise self._error(str(exc)) from None
            except RecursionError:
                raise self._error("nested too deeply") from None
            line = self._line
            self._advance(end)
            return value, line

    def objects(self) -> Iterator[tuple[Any, str | None, int, int, int | None]]:
        """Yield `(object, kind_hint, line, document, item)` for every object of the input.

        `document` numbers the top-level values from 1; `item` numbers the items of a streamed
        List or array (None for a top-level object that is not a List).
        """
        document = 0
        while True:
            char = self._skip_ws()
            if not char:
                return
            document += 1
            if char == "[":
                self._advance(self._pos + 1)
                for index, (value, hint, line) in enumerate(self._array(None), start=1):
                    yield value, hint, line, document, index
            elif char == "{":
                for value, hint, line, item in self._object():
                    yield value, hint, line, document, item
            else:
                raise self._error(f"expected an object or an array, found {char!r}")

    def _array(self, kind_hint: str | None) -> Iterator[tuple[Any, str | None, int]]:
        if self._skip_ws() == "]":
            self._advance(self._pos + 1)
            return
        while True:
            value, line = self._value()
            yield value, kind_hint, line
            if self._expect(",]") == "]":
                return

    def _object(self) -> Iterator[tuple[Any, str | None, int, int | None]]:
        """A top-level object: stream `items` if it is a List, else yield the object itself."""
        start_line = self._line
        self._advance(self._pos + 1)
        fields: dict[str, Any] = {}
        pending: list[tuple[Any, int, int]] = []
        streamed = False
        if self._skip_ws() == "}":
            self._advance(self._pos + 1)
            return
        while True:
            key, _ = self._value()
            if not isinstance(key, str):
                raise self._error("object keys must be strings")
            self._expect(":")
            kind = fields.get("kind")
            if key == "items" and self._skip_ws() == "[" and (kind is None or str(kind).endswith("List")):
                streamed = True
                self._advance(self._pos + 1)
                hint = _list_kind(str(kind)) if kind else ""
                split, self._split = self._split, None  # one array of a file is split, the first
                if split is not None and split.begin(self, kind, hint):
                    yield from self._split_items(split, kind, hint, pending)
                else:
                    for index, (item, _, line) in enumerate(self._array(None), start=1):
                        if kind is None and isinstance(item, dict) and not item.get("kind"):
                            pending.append((item, line, index))  # the List's kind may come after its items
                            continue
                        yield item, hint or None, line, index
            else:
                value, _ = self._value()
                fields[key] = value
            if self._expect(",}") == "}":
                break
        if not streamed:
            yield fields, None, start_line, None
            return
        hint = _list_kind(str(fields.get("kind", "")))
        for item, line, index in pending:
            yield item, hint or None, line, index

    # --- reading one List's items in parts (see `read_dump_split`) ---

    def _lifting(self, step: Callable[..., Any], *args: Any) -> Any:
        """`step(*args)`; an error met at the reader's limit (a cut inside an item) lifts the limit and retries."""
        while True:
            try:
                return step(*args)
            except CollectionError:
                stream = self._stream
                if not (isinstance(stream, _FileText) and stream.at_limit()):
                    raise
                stream.lift()
                self._eof = False

    def _bounded(self) -> Iterator[tuple[Any, int]]:
        """`(item, line)` from an item start of the array at the position, up to its `]`, or up to the
        reader's limit when the limit falls exactly where an item starts (then `at_cut` is True):
        after an item, its comma and whitespace, nothing is left before the limit. So a cut is taken
        only where the sequential reading would start an item too; any other cut is read through."""
        stream = self._stream
        assert isinstance(stream, _FileText)
        self.at_cut = False
        while True:
            yield self._lifting(self._value)
            if self._lifting(self._expect, ",]") == "]":
                return
            if stream.limit is not None and not self._skip_ws() and stream.at_limit():
                self.at_cut = True
                return

    def _split_items(
        self, split: _Split, kind: Any, hint: str, pending: list[tuple[Any, int, int]]
    ) -> Iterator[tuple[Any, str | None, int, int | None]]:
        """The items of a List read in parts: this process reads up to the first cut, then takes each
        helper's part (already in the builder) as long as they join up, and reads any part itself
        whose helper failed or whose result could not be merged in order."""
        stream = self._stream
        assert isinstance(stream, _FileText)
        index = 0
        try:
            while True:
                for item, line in self._bounded():
                    index += 1
                    if kind is None and isinstance(item, dict) and not item.get("kind"):
                        pending.append((item, line, index))  # the List's kind may come after its items
                        continue
                    yield item, hint or None, line, index
                while self.at_cut:  # exactly at a cut: the helper's part starting here, if usable
                    part = split.take(stream.offset)
                    if part is None:
                        stream.lift()  # read this part here, up to the next cut
                        self._eof = False
                        break
                    pending.extend((item, line, index + number) for item, line, number in part.pending)
                    index += part.items
                    self._jump(part.end, part.line)
                    if not part.at_cut:
                        return  # the helper read to the end of the array
                    stream.limit = part.end  # the next helper's part starts here
                else:
                    return
        finally:
            split.close()
            stream.limit = None
            self._eof = False

    def _jump(self, offset: int, line: int) -> None:
        """Go on reading at byte `offset` of the file, which is on `line`."""
        assert isinstance(self._stream, _FileText)
        self._stream.seek(offset)
        self._buf, self._pos, self._line, self._eof = "", 0, line, False

    def _byte_offset(self) -> int:
        """The byte offset in the file of the position (after what was read)."""
        assert isinstance(self._stream, _FileText)
        return self._stream.offset_before(self._buf[self._pos :])


class _FileText:
    """The UTF-8 text of a binary file from a byte offset, with an optional limit (a cut) it stops at.

    At the limit `read` gives "" as at the end of input; `lift` moves the limit to the next cut
    (or removes it) so reading goes on.
    """

    def __init__(self, raw: BinaryIO, name: str, start: int = 0) -> None:
        self._raw = raw
        self.name = name
        """The file's name as shown."""
        self.offset = start
        """Byte offset of the next byte to read."""
        self.limit: int | None = None
        """Byte offset `read` stops at, or None."""
        self.cuts: list[int] = []
        """Every cut, ascending: `lift` moves the limit to the next one."""
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        raw.seek(start)

    def read(self, size: int) -> str:
        """Up to about `size` characters ("" at the end of the file or at the limit)."""
        while True:
            want = max(1, size)
            if self.limit is not None:
                want = min(want, self.limit - self.offset)
                if want <= 0:
                    return ""
            data = self._raw.read(want)
            self.offset += len(data)
            text: str = self._decoder.decode(data, final=not data)
            if text or not data:
                return text

    def at_limit(self) -> bool:
        """Whether every byte before the limit was read."""
        return self.limit is not None and self.offset >= self.limit

    def lift(self) -> None:
        """Move the limit to the next cut after the position, or remove it."""
        later = [cut for cut in self.cuts if cut > self.offset]
        self.limit = later[0] if later else None

    def seek(self, offset: int) -> None:
        """Read on from byte `offset` (where a character starts)."""
        self._raw.seek(offset)
        self.offset = offset
        self._decoder.reset()

    def offset_before(self, unread: str) -> int:
        """The byte offset where `unread`, the last text read (not yet used), starts."""
        return self.offset - len(self._decoder.getstate()[0]) - len(unread.encode("utf-8"))

    def fileno(self) -> int:
        """The file descriptor."""
        return self._raw.fileno()


@dataclass
class _Part:
    """What a helper process read of a List's items, from byte `start` to byte `end`."""

    start: int
    builder: EvidenceBuilder
    """Its objects, slimmed but not finished."""
    count: int
    """Objects it added to the builder."""
    items: int
    """Items it read (those added and the pending ones)."""
    pending: list[tuple[Any, int, int]]
    """Items without a kind while the List's kind is unknown: (item, line, its number in the part)."""
    end: int
    line: int
    """The line at `end`."""
    at_cut: bool
    """True: it stopped exactly at the next cut; False: it read through the array's `]`."""


def _read_part(
    path: str, start: int, end: int | None, kind: Any, hint: str, display: str, settings: tuple[str, bool], number: int
) -> _Part:
    """In a helper process: read the List's items from byte `start` (an item start) into a fresh builder."""
    if _PART_HOOK is not None:
        _PART_HOOK(number)
    with open(path, "rb") as raw:
        newlines = 0
        left = start
        chunk = bytearray(1 << 20)  # one buffer, reused: no fresh pages to fault in per read
        while left > 0:
            if left < len(chunk):
                chunk = bytearray(left)
            got = raw.readinto(chunk)
            if not got:
                raise EOFError("the file got shorter")
            newlines += (chunk if got == len(chunk) else chunk[:got]).count(b"\n")
            left -= got
        reader = _FileText(raw, display, start)
        if end is not None:
            reader.cuts, reader.limit = [end], end
        stream = JsonStream(reader, display)
        stream._line = 1 + newlines
        builder = EvidenceBuilder(*settings)
        count = items = 0
        pending: list[tuple[Any, int, int]] = []
        for item, line in stream._bounded():
            items += 1
            if kind is None and isinstance(item, dict) and not item.get("kind"):
                pending.append((item, line, items))
                continue
            count += 1
            _add_object(builder, item, hint or None, {"file": display, "line": line})
        return _Part(start, builder, count, items, pending, stream._byte_offset(), stream._line, stream.at_cut)


class _Split:
    """The helper processes reading parts of one dump's List, and what they sent back."""

    def __init__(self, path: Path, display: str, builder: EvidenceBuilder, processes: int) -> None:
        self._path = path
        self._display = display
        self._builder = builder
        self._processes = processes
        self._helpers: dict[int, WorkerProcess] = {}
        self.count = 0
        """Objects the helpers' parts added (taken parts only)."""
        self.parts = 0
        """Parts taken from helpers."""

    def begin(self, stream: JsonStream, kind: Any, hint: str) -> bool:
        """At the start of the List's items: choose cuts and start one helper per cut; False if none."""
        reader = stream._stream
        if not isinstance(reader, _FileText):
            return False
        stream._fill(4096)
        buf, pos = stream._buf, stream._pos
        end = pos
        while end < len(buf) and buf[end] in _WS:
            end += 1
        gap = buf[pos:end]
        if end >= len(buf) or buf[end] != "{" or "\n" not in gap:
            return False  # compact JSON: a separator pattern could be inside a string
        pattern = ("," + gap + "{").encode("ascii")  # a raw newline is never inside a JSON string
        low = reader.offset
        size = os.fstat(reader.fileno()).st_size
        cuts: list[int] = []
        with mmap.mmap(reader.fileno(), 0, access=mmap.ACCESS_READ) as view:
            for part in range(1, self._processes):
                found = view.find(pattern, low + int((size - low) * (part + _SPLIT_LEAD) / self._processes))
                if found < 0:
                    break
                cut = found + len(pattern) - 1  # the `{` of an item, if the parent proves it
                if not cuts or cut > cuts[-1]:
                    cuts.append(cut)
        if not cuts:
            return False
        settings = (self._builder.default_namespace, self._builder.mirror_pods_only)
        for number, start in enumerate(cuts, start=1):
            stop = cuts[number] if number < len(cuts) else None
            self._helpers[start] = WorkerProcess(
                _read_part,
                str(self._path),
                start,
                stop,
                kind,
                hint,
                self._display,
                settings,
                number,
                name=f"dump-part-{number}",
            )
        reader.cuts, reader.limit = cuts, cuts[0]
        return True

    def take(self, offset: int) -> _Part | None:
        """The part of the helper that started at `offset`, merged into the builder; None if unusable."""
        helper = self._helpers.pop(offset, None)
        if helper is None:
            return None
        deadline = allowance_deadline()
        while not helper.wait(1.0):
            if deadline is not None and time.monotonic() > deadline:
                helper.abandon()
                return None
        try:
            part = helper.result()
        except WorkerFailed:
            return None
        if not isinstance(part, _Part) or part.start != offset or not self._builder.absorb(part.builder):
            return None
        self.count += part.count
        self.parts += 1
        return part

    def close(self) -> None:
        """Stop every helper whose part was not taken."""
        helpers, self._helpers = self._helpers, {}
        for helper in helpers.values():
            helper.abandon()


def read_dump_split(builder: EvidenceBuilder, file: Path, display: str) -> int | None:
    """Read a large dump file with several processes, if the engine allows them; None: not done.

    The items of its List are cut near equal byte offsets, each cut at a separator line
    (`,` newline indent `{`, the layout of the List's first item); a helper process reads each
    part into a builder of its own, the scanning process reads the first part and then merges the
    helpers' builders in order (`EvidenceBuilder.absorb`). A cut is used only once the reader
    before it arrived there exactly at the start of an item. The result is the sequential one:
    whenever it could differ (a cut inside an item, a helper that failed, a controller UID in
    two parts) that part is read here; any error at all (a malformed file) makes the caller read
    the whole file again sequentially, for the very same message.
    """
    processes = allowance()
    if processes < 2:
        return None
    try:
        size = file.stat().st_size
    except OSError:
        return None
    if size < SPLIT_MIN_BYTES:
        return None
    chunk = max(4096, min(_CHUNK, size // (8 * processes)))  # the cuts must lie beyond the first read
    own = EvidenceBuilder(builder.default_namespace, builder.mirror_pods_only)
    split = _Split(file, display, own, processes)
    try:
        with file.open("rb") as raw:
            count = _read_json(own, JsonStream(_FileText(raw, display), display, chunk, split=split), display)
    except Exception:  # any error is reported by the sequential reader, with its file and line
        return None
    finally:
        split.close()
    if not builder.absorb(own):
        return None
    return count + split.count


def _add_object(builder: EvidenceBuilder, obj: Any, kind_hint: str | None, source: dict[str, Any]) -> None:
    if isinstance(obj, dict) and obj.get("kind") and str(obj["kind"]).endswith("List") and "items" in obj:
        _add_document(builder, obj, source)
        return
    builder.add(obj, kind_hint, source)


def read_json_stream(builder: EvidenceBuilder, stream: IO[str], display: str, documents: bool = False) -> int:
    """Read JSON (a List, an array, single or concatenated objects); return the objects seen.

    With `documents` (a JSON file among manifests) each object's source also names its
    document and item number, as for YAML manifests; a dump's objects keep file and line only.
    """
    return _read_json(builder, JsonStream(stream, display, strict_keys=documents), display, documents)


def _read_json(builder: EvidenceBuilder, reader: JsonStream, display: str, documents: bool = False) -> int:
    count = 0
    for obj, kind_hint, line, document, item in reader.objects():
        count += 1
        source: dict[str, Any] = {"file": display, "line": line}
        if documents:
            source["doc"] = document
            if item is not None:
                source["item"] = item
        _add_object(builder, obj, kind_hint, source)
    return count


def read_offline(builder: EvidenceBuilder, mode: str, path: str) -> dict[str, Any]:
    """Read manifests (`mode` "manifests") or a dump (`mode` "dump") into the builder.

    Returns collection facts (files read, documents seen). `path` "-" reads standard input.
    Unreadable files and malformed YAML/JSON raise CollectionError naming file and line.
    """
    if path == "-":
        reader = read_json_stream if mode == "dump" else read_yaml_stream
        documents = reader(builder, sys.stdin, "<stdin>")
        _require_objects(builder, "standard input", 1, documents)
        return {"files": 1, "documents": documents}
    files = manifest_files(Path(path)) if mode == "manifests" else [Path(path)]
    documents = 0
    for file in files:
        display = _display(file)
        as_json = mode == "dump" or file.suffix == ".json"
        if mode == "dump":
            split = read_dump_split(builder, file, display)
            if split is not None:
                documents += split
                continue
        try:
            with file.open(encoding="utf-8") as stream:
                if as_json:
                    documents += read_json_stream(builder, stream, display, documents=mode == "manifests")
                else:
                    documents += read_yaml_stream(builder, stream, display)
        except FileNotFoundError:
            raise CollectionError(CollectionError.UNREACHABLE, f"no such file: {display}") from None
        except OSError as exc:
            raise CollectionError(CollectionError.UNREACHABLE, f"cannot read {display}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CollectionError(CollectionError.PROTOCOL, f"{display}: not UTF-8 text") from None
    _require_objects(builder, path, len(files), documents)
    return {"files": len(files), "documents": documents}


def objects_seen(builder: EvidenceBuilder) -> int:
    """Kubernetes objects (mappings with a `kind`) read so far, used or not."""
    kept = sum(builder.counts().values())
    return kept + sum(n for kind, n in builder.ignored.items() if kind != "(no kind)")


def _require_objects(builder: EvidenceBuilder, where: str, files: int, documents: int) -> None:
    """An input without a single Kubernetes object is not a clean cluster (a failed `helm template`)."""
    if objects_seen(builder) == 0:
        raise CollectionError(
            CollectionError.PROTOCOL,
            f"no Kubernetes object in {where} ({files} file(s), {documents} document(s)): an empty input "
            "is not a clean cluster (did `helm template` or `kubectl get` fail?)",
        )
