"""Built-in target kinds: one package per kind, each a collector and pure check functions."""
