"""Typed exceptions. Only the CLI turns them into exit codes and one-line messages."""

from __future__ import annotations


class SovscanError(Exception):
    """Base class of every error sovscan reports to the user as one line."""


class ConfigError(SovscanError):
    """Bad user input: a malformed baseline, inventory, waiver file or command-line value.

    `location` is `file:line` (or just `file`) when the error is in a file.
    """

    def __init__(self, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class PluginError(SovscanError):
    """A plugin (check package or reporter) could not be loaded or is inconsistent."""


class CollectionError(SovscanError):
    """A target, or a part of it, could not be read.

    `reason` is one of the REASON_* constants so reports can group causes; the message says
    what happened in words (never with credentials in it).
    """

    UNREACHABLE = "unreachable"
    AUTHENTICATION = "authentication failed"
    PERMISSION = "permission denied"
    TIMEOUT = "timed out"
    CREDENTIALS = "credentials unavailable"
    PROTOCOL = "unexpected response"
    TLS = "tls error"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class EvidenceUnavailable(SovscanError):
    """Raised by a check when the evidence it needs is missing; the control becomes ERROR."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
