"""The Kubernetes target kind: a live collector, offline manifest/dump readers, and pure checks."""
