"""sovscan: audit the running services of a sovereign cloud stack against YAML baselines."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sovscan")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
