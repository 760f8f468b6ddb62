"""sovscan test suite."""
