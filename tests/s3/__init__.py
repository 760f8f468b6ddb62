"""Tests of the s3 target kind."""
