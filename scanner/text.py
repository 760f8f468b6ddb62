"""Text that is safe to show: control characters made visible, lengths bounded.

Names and messages read from targets (a Pod named `evil\\rTotal: PASS 999 FAIL 0`) reach the
console summary and standard error; a terminal would obey a carriage return, a line feed, an
escape sequence or a bidirectional override in them. `visible()` shows them as escapes instead.
"""

from __future__ import annotations

import re

_NAMED = {"\r": "\\r", "\n": "\\n", "\t": "\\t", "\x1b": "\\x1b"}
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with every control, line-separator and bidi-override character shown as an escape (`\\r`)."""
    return _CONTROL.sub(_escape, text) if _CONTROL.search(text) else text


def bounded(text: str, limit: int = 300) -> str:
    """`text` cut to at most `limit` characters, marked with `...` when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 3)] + "..."
