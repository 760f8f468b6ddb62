# sovscan scanner policy: the least privilege a sovscan scan of OpenBao needs.
#
#   bao policy write sovscan-scanner scanner-policy.hcl
#   bao token create -orphan -policy=sovscan-scanner -ttl=24h -display-name=sovscan
#
# Everything is read or list, except `update` on auth/token/lookup-accessor: OpenBao only
# offers token-accessor lookups as a POST (the accessor travels in the body). The lookup
# returns a token's properties (policies, TTL) and changes nothing.
#
# The four paths marked "sudo" are root-protected endpoints: OpenBao serves them only to a
# token with `sudo` on the path. This policy grants it so that BAO-05, BAO-06 (audit devices),
# BAO-08 (standing root tokens) and BAO-17 (CORS) can be evaluated. Remove those sudo
# capabilities if your rules forbid sudo for a scanner: the scan still runs and reports exactly
# those controls as ERROR ("permission denied: ... needs a token with ... sudo ..."), never PASS.
#
# Namespaces: the sys/audit, sys/config/*, sys/quotas/* and sys/storage/raft/* endpoints exist
# only in the root namespace, and root tokens only live there (so auth/token/accessors is read
# there too); attach this policy to a token of the root namespace.

# Who am I (also in the default policy).
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

# Auth methods, their effective TTLs and lockout settings (BAO-10, BAO-11, BAO-12, BAO-18).
path "sys/auth" {
  capabilities = ["read"]
}
path "sys/mounts/auth/*" {
  capabilities = ["read"]
}

# Secrets engines and their options, never their contents (BAO-14).
path "sys/mounts" {
  capabilities = ["read"]
}

# ACL policies (BAO-13).
path "sys/policies/acl" {
  capabilities = ["list"]
}
path "sys/policies/acl/*" {
  capabilities = ["read"]
}

# Listener, raw-storage and telemetry settings, with secrets removed by OpenBao (BAO-03, BAO-15).
path "sys/config/state/sanitized" {
  capabilities = ["read"]
}

# Rate-limit quotas (BAO-18).
path "sys/quotas/rate-limit" {
  capabilities = ["list"]
}
path "sys/quotas/rate-limit/*" {
  capabilities = ["read"]
}

# Integrated-storage peers (BAO-01), read only when the storage is raft.
path "sys/storage/raft/configuration" {
  capabilities = ["read"]
}

# sudo: audit devices (BAO-05, BAO-06).
path "sys/audit" {
  capabilities = ["read", "sudo"]
}

# sudo: CORS configuration (BAO-17).
path "sys/config/cors" {
  capabilities = ["read", "sudo"]
}

# sudo: token accessors, then a lookup of each (BAO-08).
path "auth/token/accessors" {
  capabilities = ["list", "sudo"]
}
path "auth/token/lookup-accessor" {
  capabilities = ["update"]
}
