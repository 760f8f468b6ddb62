"""Checks of the control plane: component flags (static pods), kubelet configuration, version."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from checks.kubernetes.common import source_resource, static_pod_resource, target_resource
from scanner.floors import FLOOR_SCHEMA, floor_from_params, judge, parse_version, stale_floor_result
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Status
from scanner.operators import NUMERIC_OPERATORS, OPERATORS, as_number, compare

FLAG_OPS = ("set", "unset", "strong_ciphers", *OPERATORS)
"""Operators of a flag test: `set`/`unset` (is the flag given) and the vocabulary of `scanner.operators`
(a flag's value is text: `has`/`nothave`/`subset` see its comma-separated elements, booleans are
read with Go's spellings as the components parse them). `strong_ciphers`: every suite of the
comma-separated list is a forward-secret AEAD suite (`strong_cipher_suite`)."""

_TLS13_SUITES = frozenset({"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"})
_STRONG_SUITE = re.compile(
    r"^TLS_ECDHE_(ECDSA|RSA)_WITH_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305(_SHA256)?)$"
)


def strong_cipher_suite(name: str) -> bool:
    """True for a forward-secret AEAD TLS suite, judged by its Go/IANA name: ECDHE key exchange with
    AES-GCM or ChaCha20-Poly1305, or a TLS 1.3 suite. RSA key exchange, CBC, RC4, 3DES are not."""
    text = name.strip()
    return text in _TLS13_SUITES or bool(_STRONG_SUITE.match(text))


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
    if op == "strong_ciphers":
        weak = [c for c in str(value).split(",") if c.strip() and not strong_cipher_suite(c)]
        if weak:
            return False, shown + f" (not forward-secret AEAD: {', '.join(weak)})"
        return bool(str(value).strip()), shown
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
    if op == "strong_ciphers":
        return f"{test['flag']} lists only forward-secret AEAD suites"
    return f"{test['flag']} {op} {test.get('value')!r}"


def config_document(section: Mapping[str, Any], kind: str, path: str) -> tuple[Mapping[str, Any] | None, str | None]:
    """The structured configuration document (`kind`) the flag's `path` names, and why none, if none.

    Offline input may carry the control-plane node's configuration files (EncryptionConfiguration,
    audit Policy, AuthorizationConfiguration, AuthenticationConfiguration); a live API server never
    shows them. With several documents of the kind, the one whose file name matches is taken.
    """
    configs = (section.get("configs") or {}).get(kind) or []
    if not configs:
        where = "offline input" if section.get("configs_visible") else "API server"
        return None, (
            f"{kind} {path} is a file on the control-plane nodes, not visible through the {where}: "
            "give it to an offline scan with the static pod manifests (or review it by hand)"
            if where == "API server"
            else f"{kind} {path} is not in the offline input: add the file to judge it"
        )
    if len(configs) == 1:
        return configs[0], None
    base = path.rsplit("/", 1)[-1]
    named = [c for c in configs if str((c.get("source") or {}).get("file", "")).rsplit("/", 1)[-1] == base]
    if len(named) == 1:
        return named[0], None
    return None, f"{len(configs)} {kind} documents in the input and none is {base}: which one {path} is, is unknown"


def _config_resource(evidence: Evidence, pod: Mapping[str, Any], doc: Mapping[str, Any] | None) -> Any:
    if doc is not None and isinstance(doc.get("source"), Mapping):
        kind = str(doc.get("kind"))
        return source_resource(evidence, kind, kind, f"{kind}/{(doc['source'] or {}).get('file', '')}", doc)
    return static_pod_resource(evidence, pod)


class _Structured:
    """A structured configuration file that replaces command-line flags of the API server."""

    def __init__(self, flag: str, kind: str, replaced: tuple[str, ...]) -> None:
        self.flag, self.kind, self.replaced = flag, kind, replaced

    def applies(self, flags: Mapping[str, str]) -> bool:
        """True when the file flag is given and none of the flags it replaces is."""
        return self.flag in flags and not any(f in flags for f in self.replaced)

    def judge(
        self, evidence: Evidence, pod: Mapping[str, Any], flags: Mapping[str, str], section: Mapping[str, Any]
    ) -> CheckResult:
        """PASS/FAIL from the document when visible; NOT_APPLICABLE with the reason when not."""
        doc, reason = config_document(section, self.kind, flags[self.flag])
        resource = _config_resource(evidence, pod, doc)
        if doc is None:
            return CheckResult(
                resource,
                Status.NOT_APPLICABLE,
                f"apiserver {pod.get('name')}: configured by {self.flag}={flags[self.flag]}, not by "
                f"{', '.join(self.replaced)}; {reason}",
            )
        problems = self.problems(doc.get("data") or {})
        if problems:
            return CheckResult(resource, Status.FAIL, f"{self.kind}: {'; '.join(problems)}", observed=problems)
        return CheckResult(resource, Status.PASS, f"{self.kind} ({flags[self.flag]}) is sound")

    def problems(self, data: Mapping[str, Any]) -> list[str]:  # pragma: no cover - overridden
        """What is wrong in the document."""
        raise NotImplementedError


class _Authorization(_Structured):
    def problems(self, data: Mapping[str, Any]) -> list[str]:
        types = [str(a.get("type")) for a in data.get("authorizers") or () if isinstance(a, Mapping)]
        out = [f"authorizers do not include {t}" for t in ("Node", "RBAC") if t not in types]
        if "AlwaysAllow" in types:
            out.append("authorizers include AlwaysAllow")
        return out


class _Authentication(_Structured):
    def problems(self, data: Mapping[str, Any]) -> list[str]:
        anonymous = data.get("anonymous")
        if not isinstance(anonymous, Mapping):
            return ["no anonymous section: anonymous requests are enabled by default"]
        if anonymous.get("enabled") is True:
            paths = [str(c.get("path")) for c in anonymous.get("conditions") or () if isinstance(c, Mapping)]
            if paths and all(p in ("/livez", "/readyz", "/healthz") for p in paths):
                return []
            return [f"anonymous requests enabled for {', '.join(paths) if paths else 'every path'}"]
        return [] if anonymous.get("enabled") is False else ["anonymous.enabled is not a boolean"]


STRUCTURED: dict[str, _Structured] = {
    "authorization": _Authorization("--authorization-config", "AuthorizationConfiguration", ("--authorization-mode",)),
    "authentication": _Authentication("--authentication-config", "AuthenticationConfiguration", ("--anonymous-auth",)),
}
"""Structured configuration files of the API server that replace flags (Kubernetes 1.30+)."""


@check(
    "kubernetes.component_flags",
    needs=("controlplane",),
    params={
        "component": {"enum": ["apiserver", "controller-manager", "scheduler", "etcd"]},
        "tests": {"type": "array", "items": _FLAG_TEST, "minItems": 1},
        "structured": {
            "enum": list(STRUCTURED),
            "description": "The structured configuration file that replaces these flags when given "
            "(authorization: --authorization-config, authentication: --authentication-config).",
        },
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
    structured = STRUCTURED.get(str(params.get("structured", "")))
    results = []
    for pod in pods:
        flags = pod.get("flags") or {}
        if structured is not None and structured.applies(flags):
            results.append(structured.judge(evidence, pod, flags, section))
            continue
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


AUDIT_PROBES: tuple[tuple[str, str, str, str], ...] = (
    ("get", "", "secrets", "reading a Secret"),
    ("create", "", "pods/exec", "exec into a pod"),
    ("create", "", "pods", "creating a pod"),
    ("create", "", "serviceaccounts/token", "creating a service-account token"),
    ("create", "rbac.authorization.k8s.io", "clusterrolebindings", "binding a ClusterRole"),
    ("update", "rbac.authorization.k8s.io", "roles", "changing a Role"),
    ("patch", "apps", "deployments", "changing a Deployment"),
)
"""Requests (verb, group, resource, what) an audit policy must record at a level above None."""


def _resource_matches(pattern: str, resource: str) -> bool:
    if pattern in ("*", resource):
        return True
    base, _, sub = resource.partition("/")
    return (pattern == f"{base}/*" and bool(sub)) or (bool(sub) and pattern == f"*/{sub}")


def audit_level(policy: Mapping[str, Any], verb: str, group: str, resource: str) -> str:
    """The level the first matching rule of an audit Policy gives a request by any user (None when no rule matches).

    Rules limited to named users, groups other than system:authenticated, namespaces or
    resourceNames do not match an arbitrary request.
    """
    for rule in policy.get("rules") or ():
        if not isinstance(rule, Mapping):
            continue
        groups = rule.get("userGroups") or []
        if rule.get("users") or (groups and "system:authenticated" not in groups):
            continue
        if rule.get("namespaces") or (rule.get("nonResourceURLs") and not rule.get("resources")):
            continue
        if rule.get("verbs") and verb not in rule["verbs"]:
            continue
        kinds = rule.get("resources") or []
        if kinds and not any(
            isinstance(k, Mapping)
            and str(k.get("group", "")) in (group, "*")
            and not k.get("resourceNames")
            and (not k.get("resources") or any(_resource_matches(str(r), resource) for r in k["resources"]))
            for k in kinds
        ):
            continue
        return str(rule.get("level", "None"))
    return "None"


def _apiserver_document(
    evidence: Evidence, flag: str, kind: str, unset: str
) -> list[tuple[Mapping[str, Any], Mapping[str, Any] | None, str]]:
    """Per API server pod: (pod, document or None, reason when None)."""
    section = evidence.section("controlplane")
    out: list[tuple[Mapping[str, Any], Mapping[str, Any] | None, str]] = []
    for pod in section.get("apiserver") or []:
        flags = pod.get("flags") or {}
        if flag not in flags:
            out.append((pod, None, f"apiserver {pod.get('name')}: no {flag} ({unset})"))
            continue
        doc, reason = config_document(section, kind, flags[flag])
        out.append((pod, doc, f"apiserver {pod.get('name')}: {reason}"))
    return out


def _no_apiserver(evidence: Evidence) -> list[CheckResult]:
    section = evidence.section("controlplane")
    reason = section.get("reason") or "no kube-apiserver static pod in kube-system: its flags are not visible"
    return [CheckResult(target_resource(evidence), Status.NOT_APPLICABLE, str(reason))]


@check("kubernetes.audit_policy", needs=("controlplane",), params={})
def audit_policy(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """The audit policy records secret reads, exec, pod creation and RBAC changes (a level above None)."""
    found = _apiserver_document(evidence, "--audit-policy-file", "Policy", "K8S-03 reports the missing policy")
    if not found:
        return _no_apiserver(evidence)
    results = []
    for pod, doc, reason in found:
        if doc is None:
            results.append(CheckResult(static_pod_resource(evidence, pod), Status.NOT_APPLICABLE, reason))
            continue
        data = doc.get("data") or {}
        silent = [what for verb, group, res, what in AUDIT_PROBES if audit_level(data, verb, group, res) == "None"]
        resource = _config_resource(evidence, pod, doc)
        if silent:
            everything = len(silent) == len(AUDIT_PROBES)
            message = (
                "the audit policy records nothing relevant (level None for every probed request)"
                if everything
                else f"the audit policy does not record {', '.join(silent)} (level None)"
            )
            results.append(CheckResult(resource, Status.FAIL, message, silent, "a level above None"))
        else:
            results.append(CheckResult(resource, Status.PASS, "the audit policy records every probed request"))
    return results


ENCRYPTION_ACCEPTED = ("kms", "secretbox")
"""First providers accepted for Secrets by default: KMS v2 and secretbox (XSalsa20-Poly1305)."""


@check(
    "kubernetes.encryption_config",
    needs=("controlplane",),
    params={
        "accepted_providers": {
            "type": "array",
            "items": {"enum": ["kms", "secretbox", "aesgcm", "aescbc"]},
            "minItems": 1,
            "description": "Providers accepted first for Secrets (kms means KMS v2).",
        }
    },
)
def encryption_config(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Secrets are encrypted first with KMS v2 or secretbox (identity first stores them in clear text)."""
    accepted = list(params.get("accepted_providers", ENCRYPTION_ACCEPTED))
    found = _apiserver_document(
        evidence, "--encryption-provider-config", "EncryptionConfiguration", "K8S-04 reports it"
    )
    if not found:
        return _no_apiserver(evidence)
    results = []
    for pod, doc, reason in found:
        if doc is None:
            results.append(CheckResult(static_pod_resource(evidence, pod), Status.NOT_APPLICABLE, reason))
            continue
        resource = _config_resource(evidence, pod, doc)
        entry = next(
            (
                r
                for r in (doc.get("data") or {}).get("resources") or ()
                if isinstance(r, Mapping) and any(x in ("secrets", "*.", "*.*") for x in r.get("resources") or ())
            ),
            None,
        )
        providers = [p for p in (entry or {}).get("providers") or () if isinstance(p, Mapping)]
        if entry is None or not providers:
            message = "the EncryptionConfiguration does not cover secrets: they are stored unencrypted"
            results.append(CheckResult(resource, Status.FAIL, message, None, f"first provider in {accepted}"))
            continue
        first = next(iter(providers[0]), "")
        detail = providers[0].get(first)
        if first == "kms" and isinstance(detail, Mapping) and str(detail.get("apiVersion", "v1")) != "v2":
            shown = "kms (v1, deprecated: use apiVersion v2)"
            ok = False
        else:
            shown = first
            ok = first in accepted
        if first == "identity":
            message = "the first provider for secrets is identity: new and updated Secrets are written in clear text"
        elif not ok:
            message = f"the first provider for secrets is {shown}, not one of {', '.join(accepted)}"
        else:
            message = f"secrets are encrypted first with {shown}"
        results.append(
            CheckResult(resource, Status.PASS if ok else Status.FAIL, message, shown, f"first provider in {accepted}")
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
        if isinstance(required, bool) and not isinstance(value, bool):
            problems.append(f"{key} is {value!r}, not a boolean (the kubelet rejects such a file)")
        elif str(value).lower() != str(required).lower():
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


_KUBELET_SETTING_DEFAULTS: dict[str, Any] = {
    "protectKernelDefaults": False,
    "rotateCertificates": False,
    "serverTLSBootstrap": False,
    "makeIPTablesUtilChains": True,
}
"""KubeletConfiguration (v1beta1) defaults of the settings `kubelet_setting` judges."""


def _kubelet_section(evidence: Evidence) -> tuple[Any, Mapping[str, Any] | None, CheckResult | None]:
    section = evidence.section("kubeletconfig")
    if not section.get("found"):
        reason = section.get("reason") or "the kubelet configuration is not visible"
        return None, None, CheckResult(target_resource(evidence), Status.NOT_APPLICABLE, str(reason))
    namespace, _, name = str(section.get("name", "kube-system/kubelet-config")).partition("/")
    resource = source_resource(
        evidence, "ConfigMap", f"{namespace}/{name}", f"ns/{namespace}/ConfigMap/{name}", section
    )
    if "error" in section:
        return (
            resource,
            None,
            CheckResult(resource, Status.ERROR, f"kubelet configuration unreadable: {section['error']}"),
        )
    return resource, section.get("config") or {}, None


@check(
    "kubernetes.kubelet_setting",
    needs=("kubeletconfig",),
    params={
        "setting": {"enum": sorted(_KUBELET_SETTING_DEFAULTS), "description": "The KubeletConfiguration field."},
        "value": {"type": "boolean", "description": "Its required value."},
    },
)
def kubelet_setting(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """A boolean setting of the kubelet configuration has the required value (absent: its default)."""
    resource, config, early = _kubelet_section(evidence)
    if early is not None:
        return [early]
    assert config is not None
    setting = str(params.get("setting", "protectKernelDefaults"))
    required = bool(params.get("value", True))
    value = config.get(setting, _KUBELET_SETTING_DEFAULTS.get(setting))
    shown = f"{value}" if setting in config else f"unset (default {value})"
    if not isinstance(value, bool):
        return [CheckResult(resource, Status.ERROR, f"kubelet {setting} is {value!r}, not a boolean", value, required)]
    if value is not required:
        return [
            CheckResult(resource, Status.FAIL, f"kubelet {setting} is {shown}, expected {required}", value, required)
        ]
    return [CheckResult(resource, Status.PASS, f"kubelet {setting} is {shown}", value, required)]


@check("kubernetes.kubelet_tls_ciphers", needs=("kubeletconfig",), params={})
def kubelet_tls_ciphers(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """The kubelet's tlsCipherSuites lists only forward-secret AEAD suites (unset: Go's defaults, which include CBC)."""
    resource, config, early = _kubelet_section(evidence)
    if early is not None:
        return [early]
    assert config is not None
    suites = config.get("tlsCipherSuites")
    expected = "only ECDHE AES-GCM / ChaCha20-Poly1305 suites"
    if not suites:
        message = "kubelet tlsCipherSuites is unset: the Go defaults include CBC suites"
        return [CheckResult(resource, Status.FAIL, message, None, expected)]
    names = [str(s) for s in suites] if isinstance(suites, list) else str(suites).split(",")
    weak = [n for n in names if not strong_cipher_suite(n)]
    if weak:
        message = f"kubelet tlsCipherSuites allows {', '.join(weak)} (not forward-secret AEAD)"
        return [CheckResult(resource, Status.FAIL, message, names, expected)]
    return [CheckResult(resource, Status.PASS, "kubelet accepts only forward-secret AEAD suites", names, expected)]


@check(
    "kubernetes.version_supported",
    needs=("version",),
    params={
        "version_floor": {
            **FLOOR_SCHEMA,
            "description": "Supported minors (tracks such as '1.35'), the lowest acceptable patch release "
            "of each, and the date they were reviewed.",
        }
    },
)
def version_supported(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """The API server's version (/version gitVersion) is on a supported minor and at or above its patch floor.

    The floor is dated data (`scanner.floors`): when the scan is later than its review interval
    after `reviewed`, the floor itself is reported (FAIL on `.../version-floor`).
    """
    resource = target_resource(evidence)
    try:
        floor = floor_from_params(params.get("version_floor") or {})
    except ValueError as exc:
        return [CheckResult(resource, Status.ERROR, f"version_floor: {exc}")]
    results: list[CheckResult] = []
    stale = stale_floor_result(
        floor,
        evidence.collected_at,
        evidence.resource("cluster", evidence.target, "version-floor"),
        "Kubernetes version floor",
    )
    if stale is not None:
        results.append(stale)
    section = evidence.section("version")
    git_version = section.get("gitVersion")
    if not git_version:
        results.append(CheckResult(resource, Status.NOT_APPLICABLE, str(section.get("reason") or "no server version")))
        return results
    version = parse_version(str(git_version))
    if version is None:
        results.append(CheckResult(resource, Status.ERROR, f"cannot parse version {git_version!r}", git_version))
        return results
    judgement = judge(version, floor)
    message = judgement.message("Kubernetes") + f" ({git_version})"
    status = Status.PASS if judgement.passes else Status.FAIL
    results.append(CheckResult(resource, status, message, git_version, floor.describe()))
    return results
