"""The `keycloak` target kind: live realms through python-keycloak (view roles only) and offline realm exports."""
