"""Built-in YAML baselines, shipped as package data."""
