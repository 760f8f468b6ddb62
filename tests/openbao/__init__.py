"""Tests of the OpenBao target kind."""
