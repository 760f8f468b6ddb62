"""Checks of the control plane: component flags (static pods), kubelet configuration, version."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from checks.kubernetes.common import source_resource, static_pod_resource, target_resource
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Status
from scanner.operators import NUMERIC_OPERATORS, OPERATORS, as_number, compare

FLAG_OPS = ("set", "unset", *OPERATORS)
"""Operators of a flag test: `set`/`unset` (is the flag given) and the vocabulary of `scanner.operators`
(a flag's value is text: `has`/`nothave`/`subset` see its comma-separated elements, booleans are
read with Go's spellings as the components parse them)."""

_FLAG_TEST: dict[str, Any] = {
    "type": "object",
    "properties": {
        "flag": {"type": "string", "pattern": "^--[A-Za-z0-9-]+$"},
        "op": {"enum": list(FLAG_OPS)},
        "value": {},
        "default": {"type": "string", "description": "The component's value when the flag is not given."},
        "any": {"type": "array", "items": {"type": "object"}, "minItems": 1},
        "all": {"type": "array", "items": {"type": "object"}, "minItems": 1},
    },
    "oneOf": [{"required": ["flag", "op"]}, {"required": ["any"]}, {"required": ["all"]}],
}


def evaluate_flag_test(test: Mapping[str, Any], flags: Mapping[str, str]) -> tuple[bool, str]:
    """Evaluate one flag test (or an `any`/`all` group) on parsed flags; return (ok, description)."""
    for group, combine in (("any", any), ("all", all)):
        if group in test:
            outcomes = [evaluate_flag_test(t, flags) for t in test[group]]
            ok = combine(o for o, _ in outcomes)
            parts = [d for o, d in outcomes if not o] if not ok else [d for o, d in outcomes if o]
            joiner = " or " if group == "any" else " and "
            return ok, ("(" + joiner.join(parts) + ")") if len(parts) > 1 else (parts[0] if parts else "")
    flag, op = str(test["flag"]), str(test["op"])
    given = flag in flags
    value = flags[flag] if given else test.get("default")
    shown = (
        f"{flag}={value}" if given else (f"{flag} unset (default {value})" if value is not None else f"{flag} unset")
    )
    expected = test.get("value")
    if op == "set":
        return given, shown
    if op == "unset":
        return not given, shown
    if value is None:
        return False, shown
    if op in NUMERIC_OPERATORS and as_number(value) is None:
        return False, shown + " (not a number)"
    return compare(value, op, expected, booleans="go"), shown


def _describe(test: Mapping[str, Any]) -> str:
    for group, joiner in (("any", " or "), ("all", " and ")):
        if group in test:
            return "(" + joiner.join(_describe(t) for t in test[group]) + ")"
    op = test["op"]
    if op in ("set", "unset"):
        return f"{test['flag']} {op}"
    return f"{test['flag']} {op} {test.get('value')!r}"


@check(
    "kubernetes.component_flags",
    needs=("controlplane",),
    params={
        "component": {"enum": ["apiserver", "controller-manager", "scheduler", "etcd"]},
        "tests": {"type": "array", "items": _FLAG_TEST, "minItems": 1},
    },
)
def component_flags(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Compare command-line flags of a control-plane component's static pods with tests (all must hold)."""
    section = evidence.section("controlplane")
    component = str(params.get("component", "apiserver"))
    tests: Sequence[Mapping[str, Any]] = params.get("tests", ())
    pods = section.get(component) or []
    if not pods:
        reason = section.get("reason") if component == "apiserver" else None
        reason = reason or f"no {component} static pod in kube-system: its flags are not visible to the scanner"
        return [CheckResult(target_resource(evidence), Status.NOT_APPLICABLE, reason)]
    expected = " and ".join(_describe(t) for t in tests)
    results = []
    for pod in pods:
        flags = pod.get("flags") or {}
        outcomes = [evaluate_flag_test(t, flags) for t in tests]
        failed = [d for ok, d in outcomes if not ok]
        observed = [d for _, d in outcomes]
        resource = static_pod_resource(evidence, pod)
        if failed:
            message = f"{component} {pod.get('name')}: {'; '.join(failed)} (expected {expected})"
            results.append(CheckResult(resource, Status.FAIL, message, observed=observed, expected=expected))
        else:
            results.append(
                CheckResult(
                    resource,
                    Status.PASS,
                    f"{component} {pod.get('name')}: {'; '.join(dict.fromkeys(observed))}",
                    observed,
                )
            )
    return results


_KUBELET_DEFAULTS = {
    "authentication.anonymous.enabled": False,
    "authentication.webhook.enabled": True,
    "authorization.mode": "Webhook",
    "readOnlyPort": 0,
}
"""KubeletConfiguration (v1beta1) defaults for settings absent from the file."""


@check(
    "kubernetes.kubelet_config",
    needs=("kubeletconfig",),
    params={
        "anonymous_auth": {"type": "boolean", "description": "Required authentication.anonymous.enabled."},
        "webhook_authentication": {"type": "boolean", "description": "Required authentication.webhook.enabled."},
        "authorization_mode": {"type": "string", "description": "Required authorization.mode."},
        "read_only_port": {"type": "integer", "description": "Required readOnlyPort (0 = disabled)."},
    },
)
def kubelet_config(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """The kubelet configuration (kube-system/kubelet-config) disables anonymous access and the read-only port."""
    section = evidence.section("kubeletconfig")
    if not section.get("found"):
        reason = section.get("reason") or "the kubelet configuration is not visible"
        return [CheckResult(target_resource(evidence), Status.NOT_APPLICABLE, str(reason))]
    namespace, _, name = str(section.get("name", "kube-system/kubelet-config")).partition("/")
    resource = source_resource(
        evidence, "ConfigMap", f"{namespace}/{name}", f"ns/{namespace}/ConfigMap/{name}", section
    )
    if "error" in section:
        return [CheckResult(resource, Status.ERROR, f"kubelet configuration unreadable: {section['error']}")]
    config = section.get("config") or {}
    wanted = {
        "authentication.anonymous.enabled": params.get("anonymous_auth", False),
        "authentication.webhook.enabled": params.get("webhook_authentication", True),
        "authorization.mode": params.get("authorization_mode", "Webhook"),
        "readOnlyPort": params.get("read_only_port", 0),
    }
    problems, observed = [], {}
    for key, required in wanted.items():
        value = config.get(key, _KUBELET_DEFAULTS[key])
        observed[key] = value
        if str(value).lower() != str(required).lower():
            shown = value if key in config else f"unset (default {value})"
            problems.append(f"{key} is {shown}, expected {required}")
    if problems:
        return [CheckResult(resource, Status.FAIL, "kubelet: " + "; ".join(problems), observed, wanted)]
    return [
        CheckResult(
            resource,
            Status.PASS,
            "kubelet: anonymous access off, webhook authn/authz, no read-only port",
            observed,
            wanted,
        )
    ]


_VERSION = re.compile(r"^v?(\d+)\.(\d+)")


def _minor(text: str) -> tuple[int, int] | None:
    found = _VERSION.match(text.strip())
    return (int(found.group(1)), int(found.group(2))) if found else None


@check(
    "kubernetes.version_supported",
    needs=("version",),
    params={
        "min_version": {
            "type": "string",
            "pattern": r"^\d+\.\d+$",
            "description": "Oldest minor release still in the upstream support window, e.g. '1.35'.",
        }
    },
)
def version_supported(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """The API server's version (/version gitVersion) is not older than the oldest supported minor."""
    section = evidence.section("version")
    resource = target_resource(evidence)
    git_version = section.get("gitVersion")
    if not git_version:
        return [CheckResult(resource, Status.NOT_APPLICABLE, str(section.get("reason") or "no server version"))]
    minimum_text = str(params.get("min_version", "1.35"))
    found, minimum = _minor(str(git_version)), _minor(minimum_text)
    if found is None or minimum is None:
        return [CheckResult(resource, Status.ERROR, f"cannot parse version {git_version!r}", git_version)]
    expected = f">= {minimum_text}"
    if found < minimum:
        message = f"Kubernetes {git_version} is older than {minimum_text}, the oldest release still supported upstream"
        return [CheckResult(resource, Status.FAIL, message, git_version, expected)]
    return [
        CheckResult(resource, Status.PASS, f"Kubernetes {git_version} is supported upstream", git_version, expected)
    ]
