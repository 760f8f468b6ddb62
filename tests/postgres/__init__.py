"""Tests of the PostgreSQL target kind."""
