"""Real services started by test fixtures."""
