"""The `openbao` target kind: collector (hvac), pure checks, ACL policy parsing and the `bao:` credential scheme."""
