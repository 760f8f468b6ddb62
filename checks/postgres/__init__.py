"""PostgreSQL target kind: a read-only collector (collect.py) and pure check functions."""
