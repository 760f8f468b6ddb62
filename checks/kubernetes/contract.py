"""The evidence contract of the Kubernetes target kind: one JSON Schema (draft 2020-12) per section.

The schemas describe what `slim.EvidenceBuilder` produces, live or offline, and are strict where
the checks rely on a shape (an object list whose items carry `metadata.name`, a pod spec whose
containers are objects, flags that are strings) and open elsewhere (extra properties allowed,
so a newer collector's additions do not break older evidence). Leaf values that the API server
would reject (a string `"true"` for a boolean) are not refused here: the builder records them in
the object's `invalid` list and the checks report that object, not the whole section.

The engine validates every present section against `CONTRACT` after collection and after
`--evidence` re-reads; a section that does not match is an error for the controls that need it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checks.kubernetes.kinds import CONTROL_PLANE_COMPONENTS, KINDS, POD_SPEC_PATH

_STR: dict[str, Any] = {"type": "string"}
_STRINGS: dict[str, Any] = {"type": "array", "items": _STR}
_STR_MAP: dict[str, Any] = {"type": "object", "additionalProperties": _STR}
_OBJECTS: dict[str, Any] = {"type": "array", "items": {"type": "object"}}

_OWNER_REF: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "name"],
    "properties": {"kind": _STR, "name": _STR, "uid": _STR, "controller": {"type": "boolean"}},
}


def _metadata(namespaced: bool) -> dict[str, Any]:
    required = ["name", "namespace"] if namespaced else ["name"]
    return {
        "type": "object",
        "required": required,
        "properties": {
            "name": _STR,
            "namespace": _STR,
            "uid": _STR,
            "labels": _STR_MAP,
            "annotations": _STR_MAP,
            "ownerReferences": {"type": "array", "items": _OWNER_REF},
        },
    }


_SECURITY_CONTEXT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "capabilities": {"type": "object", "properties": {"add": _STRINGS, "drop": _STRINGS}},
        "seccompProfile": {"type": "object"},
        "appArmorProfile": {"type": "object"},
        "seLinuxOptions": {"type": "object"},
        "windowsOptions": {"type": "object"},
        "sysctls": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {"name": _STR}}},
    },
}

_CONTAINER: dict[str, Any] = {
    "type": "object",
    "required": ["name", "image"],
    "properties": {
        "name": _STR,
        "image": _STR,
        "securityContext": _SECURITY_CONTEXT,
        "ports": _OBJECTS,
        "resources": {"type": "object", "properties": {"limits": _STR_MAP}},
        "env": _OBJECTS,
        "envFrom": _OBJECTS,
        "lifecycle": {"type": "object"},
    },
}

_CONTAINERS: dict[str, Any] = {"type": "array", "items": _CONTAINER}

POD_SPEC: dict[str, Any] = {
    "type": "object",
    "properties": {
        "containers": _CONTAINERS,
        "initContainers": _CONTAINERS,
        "ephemeralContainers": _CONTAINERS,
        "securityContext": _SECURITY_CONTEXT,
        "volumes": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {"name": _STR}}},
        "serviceAccountName": _STR,
        "os": {"type": "object"},
    },
}
"""A slim pod spec (the keys the workload checks read)."""


def _nested(path: tuple[str, ...], leaf: Mapping[str, Any]) -> dict[str, Any]:
    """`{"spec": {"template": {"spec": leaf}}}` as a schema (every level optional: owned objects drop it)."""
    schema: dict[str, Any] = dict(leaf)
    for part in reversed(path):
        schema = {"type": "object", "properties": {part: schema}}
    return schema


def _object(namespaced: bool, **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["metadata"],
        "properties": {
            "metadata": _metadata(namespaced),
            "invalid": _STRINGS,
            "owned": {"type": "boolean"},
            "owner_note": _STR,
            "source": {"type": "object", "properties": {"file": _STR, "line": {"type": "integer"}}},
            **properties,
        },
    }


_SELECTOR: dict[str, Any] = {"type": "object"}

_RULES: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {k: _STRINGS for k in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs")},
    },
}

_SPECIFIC: dict[str, dict[str, Any]] = {
    "Namespace": {"implicit": {"type": "boolean"}},
    "ServiceAccount": {},
    "Service": {"spec": {"type": "object", "required": ["type"], "properties": {"type": _STR, "ports": _OBJECTS}}},
    "LimitRange": {
        "spec": {
            "type": "object",
            "required": ["limits"],
            "properties": {
                "limits": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"type": _STR, "default": _STR_MAP}},
                }
            },
        }
    },
    "Ingress": {
        "spec": {
            "type": "object",
            "properties": {
                "rules": _OBJECTS,
                "tls": {"type": "array", "items": {"type": "object", "properties": {"hosts": _STRINGS}}},
            },
        }
    },
    "NetworkPolicy": {
        "spec": {
            "type": "object",
            "required": ["podSelector"],
            "properties": {
                "podSelector": _SELECTOR,
                "policyTypes": _STRINGS,
                "ingress": _OBJECTS,
                "egress": _OBJECTS,
            },
        }
    },
    "Role": {"rules": _RULES},
    "ClusterRole": {"rules": _RULES},
    "RoleBinding": {
        "roleRef": {"type": "object", "required": ["kind", "name"], "properties": {"kind": _STR, "name": _STR}},
        "subjects": {
            "type": "array",
            "items": {"type": "object", "required": ["kind", "name"], "properties": {"kind": _STR, "name": _STR}},
        },
    },
    "ValidatingWebhookConfiguration": {
        "webhooks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": _STR, "failurePolicy": _STR, "rules": _OBJECTS, "service": {"type": "object"}},
            },
        }
    },
}
_SPECIFIC["ClusterRoleBinding"] = _SPECIFIC["RoleBinding"]
_SPECIFIC["MutatingWebhookConfiguration"] = _SPECIFIC["ValidatingWebhookConfiguration"]


def _section(kind: str, namespaced: bool) -> dict[str, Any]:
    if kind in POD_SPEC_PATH:
        item = _object(namespaced)
        path = POD_SPEC_PATH[kind]
        item["properties"].update(_nested(path, POD_SPEC)["properties"])
    else:
        item = _object(namespaced, **_SPECIFIC.get(kind, {}))
    return {"type": "array", "items": item}


_STATIC_POD: dict[str, Any] = {
    "type": "object",
    "required": ["name", "flags"],
    "properties": {"name": _STR, "namespace": _STR, "flags": _STR_MAP},
}

CONTROLPLANE: dict[str, Any] = {
    "type": "object",
    "required": ["visible", *CONTROL_PLANE_COMPONENTS.values()],
    "properties": {
        "visible": {"type": "boolean"},
        "reason": _STR,
        **{c: {"type": "array", "items": _STATIC_POD} for c in CONTROL_PLANE_COMPONENTS.values()},
        "configs": {
            "type": "object",
            "additionalProperties": {
                "type": "array",
                "items": {"type": "object", "required": ["kind", "data"], "properties": {"data": {"type": "object"}}},
            },
        },
        "configs_visible": {"type": "boolean"},
    },
}
"""The control-plane static pods (flags per component) and, offline, configuration files."""

KUBELETCONFIG: dict[str, Any] = {
    "type": "object",
    "required": ["found"],
    "properties": {
        "found": {"type": "boolean"},
        "name": _STR,
        "reason": _STR,
        "error": _STR,
        "config": {"type": "object"},
    },
    "if": {"properties": {"found": {"const": True}}},
    "then": {"anyOf": [{"required": ["config"]}, {"required": ["error"]}]},
    "else": {"required": ["reason"]},
}
"""The kubelet configuration (kube-system/kubelet-config), or why it is not there."""

VERSION: dict[str, Any] = {
    "type": "object",
    "required": ["gitVersion"],
    "properties": {"gitVersion": {"type": ["string", "null"]}, "reason": _STR},
}
"""`/version` (live) or the reason there is none (offline)."""

INPUTS: dict[str, Any] = {
    "type": "object",
    "required": ["invalid", "unevaluated_kinds"],
    "properties": {
        "invalid": {
            "type": "array",
            "items": {"type": "object", "required": ["problem"], "properties": {"problem": _STR}},
        },
        "unevaluated_kinds": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
}
"""Offline objects that could not be understood, and kinds read but not evaluated."""

_DIALECT = "https://json-schema.org/draft/2020-12/schema"

CONTRACT: dict[str, dict[str, Any]] = {
    name: {"$schema": _DIALECT, **schema}
    for name, schema in {
        **{k.section: _section(k.kind, k.namespaced) for k in KINDS},
        "controlplane": CONTROLPLANE,
        "kubeletconfig": KUBELETCONFIG,
        "version": VERSION,
        "inputs": INPUTS,
    }.items()
}
"""Section name -> JSON Schema of its data."""
