"""Turn Kubernetes objects into slim evidence, the same way for live, manifest and dump input.

Both the live collector and the offline readers feed raw objects (parsed JSON or YAML) into an
`EvidenceBuilder`; it keeps only the fields the checks read (no managedFields, no status, no
annotations, no environment values, no command lines except control-plane flags), so 100,000
objects fit in bounded memory and the evidence shape does not depend on where it came from.
Secrets and ConfigMaps are dropped on sight (except the kubelet configuration ConfigMap, whose
relevant settings are extracted); nothing of a Secret's data ever reaches the evidence.

The slim objects keep Kubernetes field names and nesting (`spec.template.spec.containers[]`),
so a `generic.field` control can address them with the paths a Kubernetes user knows.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Mapping
from typing import Any

import yaml

from checks.kubernetes.kinds import (
    BY_KIND,
    CONTROL_PLANE_COMPONENTS,
    KINDS,
    KUBELET_CONFIGMAP,
    OWNED_KINDS,
    POD_SPEC_PATH,
)

try:  # the C loader is much faster; fall back to pure Python where libyaml is missing
    YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    YamlLoader = yaml.SafeLoader

_intern = sys.intern

_POD_SC_KEYS = ("runAsNonRoot", "runAsUser", "runAsGroup")
_CONTAINER_SC_KEYS = ("privileged", "allowPrivilegeEscalation", "runAsNonRoot", "runAsUser", "readOnlyRootFilesystem")
_POD_FLAGS = ("hostNetwork", "hostPID", "hostIPC", "automountServiceAccountToken")
_CONTAINER_TYPES = ("containers", "initContainers", "ephemeralContainers")
_SECRETISH_FLAG = re.compile(r"password|secret|token", re.IGNORECASE)
_PATHISH_FLAG = re.compile(r"(file|dir|path|ttl|mode|lookup|audiences)$", re.IGNORECASE)
_OLD_GROUPS = {"extensions"}

KUBELET_KEYS: tuple[tuple[str, ...], ...] = (
    ("authentication", "anonymous", "enabled"),
    ("authentication", "webhook", "enabled"),
    ("authentication", "x509", "clientCAFile"),
    ("authorization", "mode"),
    ("readOnlyPort",),
    ("protectKernelDefaults",),
    ("rotateCertificates",),
    ("serverTLSBootstrap",),
    ("tlsMinVersion",),
    ("tlsCipherSuites",),
    ("makeIPTablesUtilChains",),
    ("eventRecordQPS",),
)
"""Settings kept from the kubelet configuration (dotted into `config` keys)."""


def _str(value: Any) -> str:
    """A label value or name as a string (YAML may have parsed it as a number or a date)."""
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _json_scalar(value: Any) -> Any:
    """A YAML scalar as a JSON scalar (dates and other non-JSON types become strings)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return str(value)


def _owner_refs(refs: Any) -> list[dict[str, Any]] | None:
    if not refs or not isinstance(refs, list):
        return None
    out = []
    for ref in refs:
        if isinstance(ref, dict):
            item: dict[str, Any] = {"kind": _intern(_str(ref.get("kind"))), "name": _str(ref.get("name"))}
            if ref.get("controller"):
                item["controller"] = True
            out.append(item)
    return out or None


def _labels(labels: Any) -> dict[str, str]:
    if not isinstance(labels, dict):
        return {}
    return {_str(k): _str(v) for k, v in labels.items()}


def _security_context(sc: Any, keys: tuple[str, ...]) -> dict[str, Any] | None:
    if not isinstance(sc, dict) or not sc:
        return None
    out: dict[str, Any] = {}
    for key in keys:
        value = sc.get(key)
        if value is not None:
            out[key] = _json_scalar(value)
    caps = sc.get("capabilities")
    if isinstance(caps, dict):
        slim_caps = {}
        for key in ("add", "drop"):
            values = caps.get(key)
            if isinstance(values, list):
                slim_caps[key] = [_intern(_str(v)) for v in values]
        if slim_caps:
            out["capabilities"] = slim_caps
    seccomp = sc.get("seccompProfile")
    if isinstance(seccomp, dict) and seccomp.get("type") is not None:
        out["seccompProfile"] = {"type": _intern(_str(seccomp.get("type")))}
    return out or None


def slim_container(container: Any) -> dict[str, Any]:
    """Keep a container's name, image, security context, host ports, limits and secret references."""
    if not isinstance(container, dict):
        return {"name": "", "image": ""}
    out: dict[str, Any] = {"name": _str(container.get("name")), "image": _str(container.get("image"))}
    sc = _security_context(container.get("securityContext"), _CONTAINER_SC_KEYS)
    if sc:
        out["securityContext"] = sc
    ports = container.get("ports")
    if ports and isinstance(ports, list):
        host_ports = [
            {"containerPort": _json_scalar(p.get("containerPort")), "hostPort": _json_scalar(p.get("hostPort"))}
            for p in ports
            if isinstance(p, dict) and p.get("hostPort")
        ]
        if host_ports:
            out["ports"] = host_ports
    resources = container.get("resources")
    if isinstance(resources, dict):
        limits = resources.get("limits")
        if isinstance(limits, dict):
            kept = {k: _str(limits[k]) for k in ("cpu", "memory") if limits.get(k) is not None}
            if kept:
                out["resources"] = {"limits": kept}
    env = container.get("env")
    if env and isinstance(env, list):
        secret_env = []
        for item in env:
            if not isinstance(item, dict):
                continue
            value_from = item.get("valueFrom")
            ref = value_from.get("secretKeyRef") if isinstance(value_from, dict) else None
            if isinstance(ref, dict):
                secret_env.append(
                    {
                        "name": _str(item.get("name")),
                        "valueFrom": {"secretKeyRef": {"name": _str(ref.get("name")), "key": _str(ref.get("key"))}},
                    }
                )
        if secret_env:
            out["env"] = secret_env
    env_from = container.get("envFrom")
    if env_from and isinstance(env_from, list):
        secret_refs = [
            {"secretRef": {"name": _str(item["secretRef"].get("name"))}}
            for item in env_from
            if isinstance(item, dict) and isinstance(item.get("secretRef"), dict)
        ]
        if secret_refs:
            out["envFrom"] = secret_refs
    return out


def slim_pod_spec(spec: Any) -> dict[str, Any]:
    """Keep the pod-level settings the checks read, and every kind of container."""
    if not isinstance(spec, dict):
        return {}
    out: dict[str, Any] = {}
    for key in _POD_FLAGS:
        value = spec.get(key)
        if value is not None:
            out[key] = _json_scalar(value)
    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if account:
        out["serviceAccountName"] = _intern(_str(account))
    sc = _security_context(spec.get("securityContext"), _POD_SC_KEYS)
    if sc:
        out["securityContext"] = sc
    volumes = spec.get("volumes")
    if volumes and isinstance(volumes, list):
        host_paths = [
            {"name": _str(v.get("name")), "hostPath": {"path": _str(v["hostPath"].get("path"))}}
            for v in volumes
            if isinstance(v, dict) and isinstance(v.get("hostPath"), dict)
        ]
        if host_paths:
            out["volumes"] = host_paths
    for ctype in _CONTAINER_TYPES:
        containers = spec.get(ctype)
        if containers and isinstance(containers, list):
            out[ctype] = [slim_container(c) for c in containers]
    return out


def debug_spec(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    """What of a controller-owned pod's slim spec its template does not say: ephemeral containers.

    `kubectl debug` adds ephemeral containers to running pods only; they may run privileged and
    never appear in a template. Keep them with the pod-level securityContext they inherit from.
    """
    if not spec.get("ephemeralContainers"):
        return None
    return {k: spec[k] for k in ("securityContext", "ephemeralContainers") if k in spec}


def parse_flags(argv: Any) -> dict[str, str]:
    """Parse `--flag=value` / `--flag value` / `--flag` items of a command line into a dict.

    Values of flags whose name suggests a credential (password, secret, token, but not a file
    path) are replaced by `[REDACTED]`.
    """
    flags: dict[str, str] = {}
    if not isinstance(argv, list):
        return flags
    items = [_str(a) for a in argv]
    i = 0
    while i < len(items):
        item = items[i]
        if item.startswith("--") and len(item) > 2:
            name, sep, value = item.partition("=")
            if not sep:
                if i + 1 < len(items) and not items[i + 1].startswith("-"):
                    value = items[i + 1]
                    i += 1
                else:
                    value = "true"
            if _SECRETISH_FLAG.search(name) and not _PATHISH_FLAG.search(name):
                value = "[REDACTED]"
            flags[name] = value
        i += 1
    return flags


def parse_kubelet_config(text: Any) -> dict[str, Any]:
    """Extract the settings of `KUBELET_KEYS` from a KubeletConfiguration document (YAML text)."""
    data = yaml.load(_str(text), Loader=YamlLoader)  # noqa: S506 - a SafeLoader
    if not isinstance(data, dict):
        raise ValueError("the 'kubelet' key does not hold a KubeletConfiguration mapping")
    config: dict[str, Any] = {}
    for path in KUBELET_KEYS:
        node: Any = data
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            config[".".join(path)] = [_json_scalar(v) for v in node] if isinstance(node, list) else _json_scalar(node)
    return config


def _set_path(root: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = root
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def _get_path(obj: Any, path: tuple[str, ...]) -> Any:
    node = obj
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _rules(rules: Any) -> list[dict[str, Any]]:
    out = []
    if isinstance(rules, list):
        for rule in rules:
            if not isinstance(rule, dict):
                continue
            slim: dict[str, Any] = {}
            for key in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                values = rule.get(key)
                if isinstance(values, list) and values:
                    slim[key] = [_intern(_str(v)) for v in values]
            out.append(slim)
    return out


def _rbac_uid(obj: Mapping[str, Any], meta: dict[str, Any]) -> None:
    """Keep the uid of an RBAC object (an identity the object's creator cannot choose)."""
    raw = obj.get("metadata")
    uid = raw.get("uid") if isinstance(raw, dict) else None
    if uid:
        meta["uid"] = _str(uid)


def _selector(selector: Any) -> dict[str, Any] | None:
    """A label selector as written (matchLabels, matchExpressions), or None when malformed."""
    if not isinstance(selector, dict):
        return None
    out: dict[str, Any] = {}
    labels = selector.get("matchLabels")
    if labels is not None:
        if not isinstance(labels, dict):
            return None
        out["matchLabels"] = _labels(labels)
    expressions = selector.get("matchExpressions")
    if expressions is not None:
        if not isinstance(expressions, list):
            return None
        kept = []
        for item in expressions:
            if not isinstance(item, dict):
                return None
            values = item.get("values")
            expression: dict[str, Any] = {"key": _str(item.get("key")), "operator": _str(item.get("operator"))}
            if isinstance(values, list):
                expression["values"] = [_str(v) for v in values]
            kept.append(expression)
        out["matchExpressions"] = kept
    return out


def _aggregation_rule(rule: Any) -> dict[str, Any]:
    """A ClusterRole's aggregationRule: its selectors, or `{"invalid": true}` when unreadable."""
    raw = rule.get("clusterRoleSelectors") if isinstance(rule, dict) else None
    if raw is None and isinstance(rule, dict):
        return {"clusterRoleSelectors": []}
    if not isinstance(raw, list):
        return {"clusterRoleSelectors": [], "invalid": True}
    selectors = [_selector(s) for s in raw]
    if any(s is None for s in selectors):
        return {"clusterRoleSelectors": [s for s in selectors if s is not None], "invalid": True}
    return {"clusterRoleSelectors": selectors}


class EvidenceBuilder:
    """Accumulates slim objects per evidence section, from any input."""

    def __init__(self, default_namespace: str = "default") -> None:
        self.default_namespace = default_namespace
        """Namespace given to namespaced objects that name none (offline manifests)."""
        self.sections: dict[str, list[dict[str, Any]]] = {k.section: [] for k in KINDS}
        """Section name -> slim objects."""
        self.controlplane: dict[str, list[dict[str, Any]]] = {c: [] for c in CONTROL_PLANE_COMPONENTS.values()}
        """Control-plane component -> its static pods with parsed flags."""
        self.kubelet: dict[str, Any] | None = None
        """The kubelet configuration, when the kubelet-config ConfigMap was seen."""
        self._source: dict[str, Any] | None = None
        self._controllers: set[tuple[str, str, str]] = set()
        self.ignored: Counter[str] = Counter()
        """Kinds seen but not used (ConfigMaps, Secrets, custom resources), by count."""
        self._slimmers = {
            "Namespace": self._namespace,
            "Pod": self._pod,
            "ServiceAccount": self._service_account,
            "Service": self._service,
            "LimitRange": self._limit_range,
            "Deployment": self._workload,
            "StatefulSet": self._workload,
            "DaemonSet": self._workload,
            "ReplicaSet": self._workload,
            "Job": self._workload,
            "CronJob": self._workload,
            "Ingress": self._ingress,
            "NetworkPolicy": self._network_policy,
            "Role": self._role,
            "ClusterRole": self._role,
            "RoleBinding": self._binding,
            "ClusterRoleBinding": self._binding,
            "ValidatingWebhookConfiguration": self._webhooks,
            "MutatingWebhookConfiguration": self._webhooks,
        }

    def add(self, obj: Any, kind: str | None = None, source: dict[str, Any] | None = None) -> bool:
        """Slim one raw object into its section; return False when the kind is not used.

        `kind` is given by the live collector (LIST items carry none); offline objects name it.
        `source` (file, line, document) is kept for offline input so reports can point at it.
        """
        if not isinstance(obj, dict):
            return False
        kind = kind or _str(obj.get("kind"))
        slimmer = self._slimmers.get(kind)
        if slimmer is None or not self._group_ok(kind, obj):
            if kind == "ConfigMap":
                self._config_map(obj, source)
            self.ignored[kind or "(no kind)"] += 1
            return False
        self._source = source
        slim = slimmer(obj, kind)
        if source is not None:
            slim["source"] = source
        self.sections[BY_KIND[kind].section].append(slim)
        return True

    @staticmethod
    def _group_ok(kind: str, obj: Mapping[str, Any]) -> bool:
        """A custom resource may reuse a built-in kind name: check the API group when one is given."""
        api_version = obj.get("apiVersion")
        if not api_version:
            return True
        group = _str(api_version).rpartition("/")[0]
        return group == BY_KIND[kind].group or group in _OLD_GROUPS

    def _meta(self, obj: Mapping[str, Any], kind: str, labels: bool = False) -> dict[str, Any]:
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
        out: dict[str, Any] = {"name": _str(meta.get("name"))}
        if BY_KIND[kind].namespaced:
            out["namespace"] = _intern(_str(meta.get("namespace") or self.default_namespace))
        owners = _owner_refs(meta.get("ownerReferences"))
        if owners:
            out["ownerReferences"] = owners
        if labels:
            out["labels"] = _labels(meta.get("labels"))
        return out

    def _namespace(self, obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
        return {"metadata": self._meta(obj, kind, labels=True)}

    def _owned(self, meta: dict[str, Any]) -> bool:
        """True when an owner of the object is a controller already in the evidence."""
        owners = meta.get("ownerReferences")
        if owners:
            namespace = meta.get("namespace")
            for ref in owners:
                if (ref["kind"], namespace, ref["name"]) in self._controllers:
                    return True
        return False

    def _pod(self, obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
        meta = self._meta(obj, kind)
        spec = obj.get("spec")
        if meta.get("namespace") == "kube-system":
            self._control_plane(obj, meta, spec)
        if self._owned(meta):
            owned: dict[str, Any] = {"metadata": meta, "owned": True}
            if isinstance(spec, dict) and spec.get("ephemeralContainers"):
                debug = debug_spec(slim_pod_spec(spec))
                if debug:
                    owned["spec"] = debug
            return owned
        return {"metadata": meta, "spec": slim_pod_spec(spec)}

    def _control_plane(self, obj: Mapping[str, Any], meta: dict[str, Any], spec: Any) -> None:
        raw_meta = obj.get("metadata")
        labels = raw_meta.get("labels") if isinstance(raw_meta, dict) else None
        component = _str(labels.get("component")) if isinstance(labels, dict) else ""
        if component not in CONTROL_PLANE_COMPONENTS:
            component = next((c for c in CONTROL_PLANE_COMPONENTS if meta["name"].startswith(c + "-")), "")
        if not component:
            return
        containers = spec.get("containers") if isinstance(spec, dict) else None
        first = containers[0] if isinstance(containers, list) and containers else {}
        argv = list(first.get("command") or []) + list(first.get("args") or []) if isinstance(first, dict) else []
        entry: dict[str, Any] = {"name": meta["name"], "namespace": "kube-system", "flags": parse_flags(argv)}
        if self._source is not None:
            entry["source"] = self._source
        self.controlplane[CONTROL_PLANE_COMPONENTS[component]].append(entry)

    def _service_account(self, obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
        out = {"metadata": self._meta(obj, kind)}
        automount = obj.get("automountServiceAccountToken")
        if automount is not None:
            out["automountServiceAccountToken"] = _json_scalar(automount)
        return out

    def _service(self, obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        slim: dict[str, Any] = {"type": _intern(_str(spec.get("type") or "ClusterIP"))}
        for key in ("externalIPs", "loadBalancerSourceRanges"):
            if isinstance(spec.get(key), list) and spec[key]:
                slim[key] = [_str(v) for v in spec[key]]
        ports = spec.get("ports")
        if isinstance(ports, list):
            slim["ports"] = [
                {k: _json_scalar(p[k]) for k in ("port", "nodePort", "protocol") if p.get(k) is not None}
                for p in ports
                if isinstance(p, dict)
            ]
        return {"metadata": self._meta(obj, kind), "spec": slim}

    def _limit_range(self, obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
        limits = _get_path(obj, ("spec", "limits"))
        slim = []
        if isinstance(limits, list):
            for item in limits:
                if not isinstance(item, dict):
                    continue
                entry: dict[str, Any] = {"type": _str(item.get("type"))}
                default = item.get("default")
                if isinstance(default, dict):
                    entry["default"] = {k: _str(default[k]) for k in ("cpu", "memory") if default.get(k) is not None}
                slim.append(entry)
        return {"metadata": self._meta(obj, kind), "spec": {"limits": slim}}

    def _workload(self, obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
        meta = self._meta(obj, kind)
        self._controllers.add((kind, meta["namespace"], meta["name"]))
        if kind in OWNED_KINDS and self._owned(meta):
            return {"metadata": meta, "owned": True}
        path = POD_SPEC_PATH[kind]
        out: dict[str, Any] = {"metadata": meta}
        _set_path(out, path, slim_pod_spec(_get_path(obj, path)))
        return out

    def finish(self) -> None:
        """Drop the pod specs of objects whose owning controller is in the evidence.

        The checks evaluate a controller's template, never the pods, ReplicaSets or Jobs it
        created; objects read before their owner (offline input in any order) lose their spec
        here. They keep their metadata (owner references) and are marked `owned: true`; a pod
        keeps its ephemeral containers (see `debug_spec`).
        """
        for kind in OWNED_KINDS:
            for obj in self.sections[BY_KIND[kind].section]:
                if "owned" not in obj and self._owned(obj["metadata"]):
                    spec = obj.pop("spec", None)
                    obj["owned"] = True
                    debug = debug_spec(spec) if kind == "Pod" and isinstance(spec, dict) else None
                    if debug:
                        obj["spec"] = debug

    def _ingress(self, obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
        spec = obj.get("spec")
        spec = spec if isinstance(spec, dict) else {}
        slim: dict[str, Any] = {}
        if spec.get("ingressClassName"):
            slim["ingressClassName"] = _str(spec["ingressClassName"])
        rules = spec.get("rules")
        if isinstance(rules, list):
            slim["rules"] = [
                {"host": _str(r.get("host"))} if isinstance(r, dict) and r.get("host") else {}
                for r in rules
                if isinstance(r, dict)
            ]
        tls = spec.get("tls")
        if isinstance(tls, list):
            slim["tls"] = [
                {
                    "hosts": [_str(h) for h in (t.get("hosts") or [])],
                    **({"secretName": _str(t["secretName"])} if t.get("secretName") else {}),
                }
                for t in tls
                if isinstance(t, dict)
            ]
        if spec.get("defaultBackend") or spec.get("backend"):
            slim["defaultBackend"] = True
        return {"metadata": self._meta(obj, kind), "spec": slim}

    def _network_policy(self, obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
        spec = obj.get("spec")
        spec = spec if isinstance(spec, dict) else {}
        slim: dict[str, Any] = {"podSelector": spec.get("podSelector") or {}}
        if isinstance(spec.get("policyTypes"), list):
            slim["policyTypes"] = [_str(t) for t in spec["policyTypes"]]
        for key in ("ingress", "egress"):
            if isinstance(spec.get(key), list):
                slim[key] = spec[key]
        return {"metadata": self._meta(obj, kind), "spec": slim}

    def _role(self, obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
        """A Role or ClusterRole: metadata with labels and uid, every rule, the aggregation rule.

        `rules` are the stored rules (what the API server authorizes on; for an aggregated
        ClusterRole the controller writes them). `aggregationRule.clusterRoleSelectors` keeps each
        label selector as written (matchLabels, matchExpressions) so the aggregation can be
        recomputed; a present but unreadable aggregation rule is kept as `{"invalid": true}`.
        """
        meta = self._meta(obj, kind, labels=True)
        _rbac_uid(obj, meta)
        out: dict[str, Any] = {"metadata": meta, "rules": _rules(obj.get("rules"))}
        aggregation = obj.get("aggregationRule")
        if aggregation is not None:
            out["aggregationRule"] = _aggregation_rule(aggregation)
        return out

    def _binding(self, obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
        """A RoleBinding or ClusterRoleBinding: metadata with labels and uid, roleRef, every subject."""
        ref = obj.get("roleRef")
        ref = ref if isinstance(ref, dict) else {}
        subjects = []
        raw_subjects = obj.get("subjects")
        if isinstance(raw_subjects, list):
            for s in raw_subjects:
                if isinstance(s, dict):
                    subject = {"kind": _intern(_str(s.get("kind"))), "name": _str(s.get("name"))}
                    if s.get("namespace"):
                        subject["namespace"] = _str(s.get("namespace"))
                    if s.get("apiGroup"):
                        subject["apiGroup"] = _intern(_str(s.get("apiGroup")))
                    subjects.append(subject)
        meta = self._meta(obj, kind, labels=True)
        _rbac_uid(obj, meta)
        role_ref = {"kind": _str(ref.get("kind")), "name": _str(ref.get("name"))}
        if ref.get("apiGroup"):
            role_ref["apiGroup"] = _intern(_str(ref.get("apiGroup")))
        return {"metadata": meta, "roleRef": role_ref, "subjects": subjects}

    def _webhooks(self, obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
        hooks = []
        raw = obj.get("webhooks")
        if isinstance(raw, list):
            for hook in raw:
                if isinstance(hook, dict):
                    hooks.append({"name": _str(hook.get("name")), "failurePolicy": _str(hook.get("failurePolicy"))})
        return {"metadata": self._meta(obj, kind, labels=True), "webhooks": hooks}

    def _config_map(self, obj: Mapping[str, Any], source: dict[str, Any] | None) -> None:
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            return
        if (_str(meta.get("namespace")), _str(meta.get("name"))) == KUBELET_CONFIGMAP:
            self.set_kubelet_config(obj, source)

    def set_kubelet_config(self, obj: Mapping[str, Any], source: dict[str, Any] | None = None) -> None:
        """Record the kubelet settings of the kube-system/kubelet-config ConfigMap (never other data)."""
        found: dict[str, Any] = {"found": True, "name": "/".join(KUBELET_CONFIGMAP)}
        data = obj.get("data")
        text = data.get("kubelet") if isinstance(data, dict) else None
        if text is None:
            found["error"] = "the ConfigMap has no 'kubelet' key"
        else:
            try:
                found["config"] = parse_kubelet_config(text)
            except (yaml.YAMLError, ValueError) as exc:
                found["error"] = f"cannot parse the 'kubelet' key: {str(exc).splitlines()[0]}"
        if source is not None:
            found["source"] = source
        self.kubelet = found

    def add_implicit_namespaces(self) -> None:
        """Offline input: add namespaces that objects live in but no Namespace document declares."""
        declared = {ns["metadata"]["name"] for ns in self.sections["namespaces"]}
        used: set[str] = set()
        for kind in KINDS:
            if kind.namespaced:
                used.update(obj["metadata"]["namespace"] for obj in self.sections[kind.section])
        for name in sorted(used - declared):
            self.sections["namespaces"].append({"metadata": {"name": name, "labels": {}}, "implicit": True})

    def controlplane_section(self, missing_reason: str) -> dict[str, Any]:
        """The `controlplane` section: static pods per component, and whether the API server is visible."""
        visible = bool(self.controlplane["apiserver"])
        section: dict[str, Any] = {"visible": visible, **self.controlplane}
        if not visible:
            section["reason"] = missing_reason
        return section

    def counts(self) -> dict[str, int]:
        """Objects kept per section."""
        return {name: len(items) for name, items in self.sections.items()}
