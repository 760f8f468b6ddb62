"""Shared pytest configuration: fixture plugins of the real test services."""

pytest_plugins = [
    "tests.services.postgres",
    "tests.services.openbao",
    "tests.services.minio",
    "tests.services.seaweedfs",
    "tests.services.keycloak",
]
