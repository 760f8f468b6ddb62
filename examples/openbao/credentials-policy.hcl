# Read access for sovscan's `bao:` credential references (other targets' passwords), kept
# apart from scanner-policy.hcl so that the scan itself never reads a secret value.
# Store the credentials under one KV v2 prefix and attach this policy to the scanner token:
#
#   bao kv put -mount=secret sovscan/postgres password=...
#   bao token create -orphan -policy=sovscan-scanner -policy=sovscan-credentials -ttl=24h
#
# and reference them in the inventory as `bao:secret/sovscan/postgres#password`.

path "secret/data/sovscan/*" {
  capabilities = ["read"]
}

# Lets sovscan ask which mount a reference lives on and its KV version (optional: without it
# the first path segment is taken as the mount, KV v2).
path "sys/internal/ui/mounts/secret/sovscan/*" {
  capabilities = ["read"]
}
