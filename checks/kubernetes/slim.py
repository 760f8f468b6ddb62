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
from collections.abc import Callable, Mapping
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
from scanner.yamlfile import load_bounded

try:  # the C loader is much faster; fall back to pure Python where libyaml is missing
    YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    YamlLoader = yaml.SafeLoader

_intern = sys.intern

_POD_FLAGS = ("hostNetwork", "hostPID", "hostIPC", "automountServiceAccountToken")
_BOOL_SC_KEYS = frozenset({"privileged", "allowPrivilegeEscalation", "runAsNonRoot", "readOnlyRootFilesystem"})
_INT_SC_KEYS = frozenset({"runAsUser", "runAsGroup"})
_CONTAINER_TYPES = ("containers", "initContainers", "ephemeralContainers")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_SECRETISH_FLAG = re.compile(r"password|secret|token", re.IGNORECASE)
_PATHISH_FLAG = re.compile(r"(file|dir|path|ttl|mode|lookup|audiences)$", re.IGNORECASE)
_OLD_GROUPS = {"extensions"}
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
"""Prefix of the (deprecated) per-container AppArmor annotations Pod Security still judges."""

CONFIG_KINDS: dict[str, str] = {
    "EncryptionConfiguration": "apiserver.config.k8s.io",
    "AuthorizationConfiguration": "apiserver.config.k8s.io",
    "AuthenticationConfiguration": "apiserver.config.k8s.io",
    "Policy": "audit.k8s.io",
}
"""Control-plane configuration files (kind -> API group) read from offline input when present."""

USED_KINDS: frozenset[str] = frozenset({k.kind for k in KINDS} | set(CONFIG_KINDS))
"""Every kind whose content the builder reads (an offline reader must not drop their bodies)."""

KEPT_ANNOTATIONS: tuple[str, ...] = ("container.apparmor.security.beta.kubernetes.io/",)
"""Prefixes of the annotations the builder keeps (an offline reader must not drop them)."""

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


class _Problems:
    """Collects fields whose type the API server would reject (`"true"` for a boolean, ...).

    A field is named by `where` and `key` (joined only when it is recorded: slimming runs on
    every object, a problem rarely).
    """

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[str] = []

    def _add(self, where: str, key: str, value: Any, wanted: str) -> None:
        self.items.append(f"{where}.{key if key else ''}".rstrip(".") + f" is {_shown(value)}, not {wanted}")

    def boolean(self, value: Any, where: str, key: str = "") -> Any:
        """`value` when it is a JSON boolean; otherwise record it and keep its JSON form."""
        if value is True or value is False:
            return value
        self._add(where, key, value, "a boolean")
        return _json_scalar(value)

    def integer(self, value: Any, where: str, key: str = "") -> Any:
        """`value` when it is a JSON integer; otherwise record it and keep its JSON form."""
        if type(value) is int:
            return value
        self._add(where, key, value, "an integer")
        return _json_scalar(value)

    def string(self, value: Any, where: str, key: str = "") -> str:
        """`value` when it is a string; otherwise record it and keep its text."""
        if type(value) is str:
            return value
        self._add(where, key, value, "a string")
        return _str(value)

    def mapping(self, value: Any, where: str, key: str = "") -> dict[str, Any] | None:
        """`value` when it is a mapping (None when absent); otherwise record it."""
        if value is None or type(value) is dict:
            return value
        self._add(where, key, value, "an object")
        return None

    def sequence(self, value: Any, where: str, key: str = "") -> list[Any] | None:
        """`value` when it is a list (None when absent); otherwise record it."""
        if value is None or type(value) is list:
            return value
        self._add(where, key, value, "a list")
        return None


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _owner_refs(refs: Any) -> list[dict[str, Any]] | None:
    if not refs or not isinstance(refs, list):
        return None
    out = []
    for ref in refs:
        if isinstance(ref, dict):
            item: dict[str, Any] = {"kind": _intern(_str(ref.get("kind"))), "name": _str(ref.get("name"))}
            if isinstance(ref.get("uid"), str) and ref["uid"]:
                item["uid"] = ref["uid"]
            if ref.get("controller") is True:
                item["controller"] = True
            out.append(item)
    return out or None


def _labels(labels: Any) -> dict[str, str]:
    if not labels or type(labels) is not dict:
        return {}
    for k, v in labels.items():
        if type(v) is not str or type(k) is not str:
            return {_str(k): _str(v) for k, v in labels.items()}
    return dict(labels)


def _annotations(annotations: Any) -> dict[str, str] | None:
    """The annotations Pod Security judges (AppArmor per container); nothing else is kept."""
    if not annotations or not isinstance(annotations, dict):
        return None
    kept = None
    for k, v in annotations.items():
        name = k if type(k) is str else _str(k)
        if name.startswith(APPARMOR_ANNOTATION):
            if kept is None:
                kept = {}
            kept[name] = v if type(v) is str else _str(v)
    return kept


def _profile(value: Any, path: str, key: str, problems: _Problems) -> dict[str, Any] | None:
    """A seccompProfile / appArmorProfile: its type (and localhost profile name)."""
    profile = problems.mapping(value, path, key)
    if not profile:
        return None
    out: dict[str, Any] = {}
    if profile.get("type") is not None:
        out["type"] = _intern(problems.string(profile["type"], path, f"{key}.type"))
    if profile.get("localhostProfile") is not None:
        out["localhostProfile"] = _str(profile["localhostProfile"])
    return out or None


_SC_BOOL, _SC_INT, _SC_PROC, _SC_CAPS, _SC_SYSCTLS, _SC_PROFILE, _SC_SELINUX, _SC_WINDOWS = range(8)
_SC_COMMON = {
    **dict.fromkeys(_INT_SC_KEYS, _SC_INT),
    "seccompProfile": _SC_PROFILE,
    "appArmorProfile": _SC_PROFILE,
    "seLinuxOptions": _SC_SELINUX,
    "windowsOptions": _SC_WINDOWS,
}
_SC_FIELDS = {
    False: {**dict.fromkeys(_BOOL_SC_KEYS, _SC_BOOL), **_SC_COMMON, "procMount": _SC_PROC, "capabilities": _SC_CAPS},
    True: {"runAsNonRoot": _SC_BOOL, **_SC_COMMON, "sysctls": _SC_SYSCTLS},
}
"""pod (True) or container (False) -> securityContext field kept -> how it is read."""


def _security_context(sc: Any, path: str, problems: _Problems, pod: bool) -> dict[str, Any] | None:
    if not sc:
        return None
    if type(sc) is not dict:
        sc = problems.mapping(sc, path)
        if not sc:
            return None
    fields = _SC_FIELDS[pod]
    out: dict[str, Any] = {}
    for key, value in sc.items():
        if value is None:
            continue
        what = fields.get(key)
        if what is None:
            continue
        if what == _SC_BOOL:
            out[key] = value if value is True or value is False else problems.boolean(value, path, key)
        elif what == _SC_INT:
            out[key] = value if type(value) is int else problems.integer(value, path, key)
        elif what == _SC_PROC:
            out[key] = _intern(problems.string(value, path, key))
        elif what == _SC_CAPS:
            caps = problems.mapping(value, path, key)
            if caps:
                slim_caps = {}
                for name in ("add", "drop"):
                    values = problems.sequence(caps.get(name), path, f"capabilities.{name}")
                    if values is not None:
                        slim_caps[name] = [_intern(v if type(v) is str else _str(v)) for v in values]
                if slim_caps:
                    out[key] = slim_caps
        elif what == _SC_SYSCTLS:
            sysctls = problems.sequence(value, path, key)
            if sysctls:
                out[key] = [{"name": _str(s.get("name"))} for s in sysctls if isinstance(s, dict)]
        elif what == _SC_PROFILE:
            profile = _profile(value, path, key, problems)
            if profile:
                out[key] = profile
        elif what == _SC_SELINUX:
            selinux = problems.mapping(value, path, key)
            if selinux:
                kept = {k: _str(selinux[k]) for k in ("type", "user", "role", "level") if selinux.get(k) is not None}
                if kept:
                    out[key] = kept
        else:
            windows = problems.mapping(value, path, key)
            if windows and windows.get("hostProcess") is not None:
                out[key] = {"hostProcess": problems.boolean(windows["hostProcess"], path, f"{key}.hostProcess")}
    return out or None


def _handler_host(handler: Any) -> dict[str, Any] | None:
    """Of a probe or lifecycle handler, only the `host` of httpGet / tcpSocket (Pod Security judges it)."""
    if not isinstance(handler, dict):
        return None
    out: dict[str, Any] = {}
    for key in ("httpGet", "tcpSocket"):
        action = handler.get(key)
        if isinstance(action, dict) and action.get("host"):
            out[key] = {"host": _str(action["host"])}
    return out or None


def slim_container(container: Any, path: str = "container", problems: _Problems | None = None) -> dict[str, Any]:
    """Keep a container's name, image, security context, host ports, probe hosts, limits and secret references."""
    problems = problems if problems is not None else _Problems()
    if not isinstance(container, dict):
        problems.items.append(f"{path} is {_shown(container)}, not an object")
        return {"name": "", "image": ""}
    get = container.get
    name, image = get("name"), get("image")
    out: dict[str, Any] = {
        "name": name if type(name) is str else _str(name),
        "image": image if type(image) is str else _str(image),
    }
    raw_sc = get("securityContext")
    sc = _security_context(raw_sc, path + ".securityContext", problems, pod=False) if raw_sc else None
    if sc:
        out["securityContext"] = sc
    ports = get("ports")
    if ports is not None and type(ports) is not list:
        ports = problems.sequence(ports, path, "ports")
    if ports:
        host_ports = []
        for i, p in enumerate(ports):
            if isinstance(p, dict) and p.get("hostPort"):
                host_ports.append(
                    {
                        "containerPort": _json_scalar(p.get("containerPort")),
                        "hostPort": problems.integer(p.get("hostPort"), f"{path}.ports[{i}].hostPort"),
                    }
                )
        if host_ports:
            out["ports"] = host_ports
    for probe in _PROBES:
        handler = get(probe)
        if handler is not None:
            host = _handler_host(handler)
            if host:
                out[probe] = host
    lifecycle = get("lifecycle")
    if lifecycle is not None and isinstance(lifecycle, dict):
        hooks = {k: h for k in ("postStart", "preStop") if (h := _handler_host(lifecycle.get(k)))}
        if hooks:
            out["lifecycle"] = hooks
    resources = get("resources")
    if resources is not None and isinstance(resources, dict):
        limits = resources.get("limits")
        if limits is not None and isinstance(limits, dict):
            kept = {}
            for key in ("cpu", "memory"):
                value = limits.get(key)
                if value is not None:
                    kept[key] = value if type(value) is str else _str(value)
            if kept:
                out["resources"] = {"limits": kept}
    env = get("env")
    if env and isinstance(env, list):
        secret_env = []
        for item in env:
            if not isinstance(item, dict):
                continue
            value_from = item.get("valueFrom")
            if value_from is None:
                continue
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
    env_from = get("envFrom")
    if env_from and isinstance(env_from, list):
        secret_refs = [
            {"secretRef": {"name": _str(item["secretRef"].get("name"))}}
            for item in env_from
            if isinstance(item, dict) and isinstance(item.get("secretRef"), dict)
        ]
        if secret_refs:
            out["envFrom"] = secret_refs
    return out


def _slim_volume(volume: dict[str, Any]) -> dict[str, Any]:
    """A volume's name and source type(s): a hostPath keeps its path, other sources an empty object."""
    out: dict[str, Any] = {"name": _str(volume.get("name"))}
    for key, value in volume.items():
        if key == "name" or value is None:
            continue
        if key == "hostPath" and isinstance(value, dict):
            out[key] = {"path": _str(value.get("path"))}
        else:
            out[_intern(_str(key))] = {}
    return out


def slim_pod_spec(spec: Any, path: str = "spec", problems: _Problems | None = None) -> dict[str, Any]:
    """Keep the pod-level settings the checks read (Pod Security fields included), and every container.

    Fields of the wrong type (a string `"true"` where Kubernetes wants a boolean) are kept as
    they are and recorded in `problems`: the API server rejects such an object, so the checks
    report it instead of reading it as false.
    """
    problems = problems if problems is not None else _Problems()
    if spec is not None and not isinstance(spec, dict):
        problems.items.append(f"{path} is {_shown(spec)}, not an object")
    if not isinstance(spec, dict):
        return {}
    out: dict[str, Any] = {}
    for key in _POD_FLAGS:
        value = spec.get(key)
        if value is not None:
            out[key] = problems.boolean(value, path, key)
    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if account:
        out["serviceAccountName"] = _intern(_str(account))
    if spec.get("hostUsers") is not None:
        out["hostUsers"] = problems.boolean(spec["hostUsers"], path, "hostUsers")
    os_spec = spec.get("os")
    if isinstance(os_spec, dict) and os_spec.get("name") is not None:
        out["os"] = {"name": _str(os_spec["name"])}
    sc = _security_context(spec.get("securityContext"), path + ".securityContext", problems, pod=True)
    if sc:
        out["securityContext"] = sc
    volumes = problems.sequence(spec.get("volumes"), path, "volumes")
    if volumes:
        out["volumes"] = [_slim_volume(v) for v in volumes if isinstance(v, dict)]
    for ctype in _CONTAINER_TYPES:
        containers = problems.sequence(spec.get(ctype), path, ctype)
        if containers:
            out[ctype] = [slim_container(c, f"{path}.{ctype}[{i}]", problems) for i, c in enumerate(containers)]
    return out


_SA_VOLUME = re.compile(r"^kube-api-access-[a-z0-9]{5}$")


def _comparable(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A slim pod spec without what admission and controllers legitimately add to a pod.

    The ServiceAccount admission plugin adds `serviceAccountName: default` and a projected
    `kube-api-access-xxxxx` volume, a StatefulSet adds persistentVolumeClaim volumes (both volume
    types every Pod Security level allows); ephemeral containers are compared separately.
    """
    out = {k: v for k, v in spec.items() if k not in _NOT_COMPARED}
    out["serviceAccountName"] = spec.get("serviceAccountName") or "default"
    out["volumes"] = _compared_volumes(spec.get("volumes"))
    return out


_NOT_COMPARED = frozenset(("ephemeralContainers", "serviceAccountName", "volumes"))


def _compared_volumes(raw: Any) -> list[Any]:
    """The volumes `_comparable` keeps (admission-added ones left out), sorted by name."""
    volumes = []
    for volume in raw or ():
        kinds = set(volume) - {"name"}
        if kinds == {"persistentVolumeClaim"} or (kinds == {"projected"} and _SA_VOLUME.match(str(volume["name"]))):
            continue
        volumes.append(volume)
    return sorted(volumes, key=lambda v: str(v.get("name")))


def _simple_limits(container: Any) -> bool:
    """A slim container whose `resources` is absent or exactly `{"limits": <non-empty object>}`:
    `same_pod_spec` leaves such a container unchanged when its limits are its template's."""
    if type(container) is not dict:
        return False
    resources = container.get("resources")
    if resources is None:
        return "resources" not in container
    if type(resources) is not dict or len(resources) != 1:
        return False
    limits = resources.get("limits")
    return type(limits) is dict and bool(limits)


def _same_spec_fast(pod: Mapping[str, Any], theirs: Mapping[str, Any]) -> bool:
    """True when `same_pod_spec(pod, _, theirs)` is certainly true without building the adjusted form:
    every compared field of the pod equals the template's, containers included, and no container
    has a limit its template lacks. False means "not shown here" (the general comparison decides)."""
    count = 2  # serviceAccountName and volumes, always in `theirs`
    missing = _NOT_COMPARED  # a sentinel no value equals
    for key, value in pod.items():
        if key in _NOT_COMPARED:
            continue
        count += 1
        if key == "containers" or key == "initContainers":
            base = theirs.get(key, missing)
            if type(value) is not list or type(base) is not list or value != base:
                return False
            for container in value:
                if not _simple_limits(container):
                    return False
        elif theirs.get(key, missing) != value:
            return False
    if count != len(theirs):
        return False
    if (pod.get("serviceAccountName") or "default") != theirs["serviceAccountName"]:
        return False
    volumes = pod.get("volumes")
    if volumes is not None and (type(volumes) is not list or any(type(v) is not dict for v in volumes)):
        return False
    return bool(_compared_volumes(volumes) == theirs["volumes"])


def same_pod_spec(pod: Mapping[str, Any], template: Mapping[str, Any], theirs: dict[str, Any] | None = None) -> bool:
    """True when a pod's slim spec is its owner's template, up to what admission adds (see `_comparable`).

    A pod's containers may carry limits its template lacks (LimitRanger adds defaults), never
    other values: a limit the template sets must be the pod's. `theirs` is `_comparable(template)`
    when the caller already has it (it is only read).
    """
    if theirs is None:
        theirs = _comparable(template)
    if _same_spec_fast(pod, theirs):  # the usual case: the pod is its template, as admitted
        return True
    mine = _comparable(pod)
    for ctype in ("containers", "initContainers"):
        ours, base = mine.get(ctype) or [], theirs.get(ctype) or []
        if len(ours) != len(base):
            return False
        adjusted = []
        for container, reference in zip(ours, base, strict=True):
            limits = (container.get("resources") or {}).get("limits")
            wanted = (reference.get("resources") or {}).get("limits") or {}
            if limits is not None:
                kept = {k: v for k, v in limits.items() if k in wanted}
                container = {k: v for k, v in container.items() if k != "resources"}
                if kept:
                    container["resources"] = {"limits": kept}
            adjusted.append(container)
        if adjusted:
            mine[ctype] = adjusted
    return mine == theirs


def _apparmor_effective(spec: Mapping[str, Any], annotations: Mapping[str, str] | None) -> dict[str, str]:
    """Container name -> its AppArmor profile as the kubelet applies it (field, else pod field, else annotation)."""
    pod = ((spec.get("securityContext") or {}).get("appArmorProfile") or {}).get("type")
    out = {}
    if not annotations:  # no annotation applies (a missing one maps to ""): fields only
        for ctype in ("initContainers", "containers"):
            for c in spec.get(ctype) or ():
                shown = ((c.get("securityContext") or {}).get("appArmorProfile") or {}).get("type") or pod
                if shown:
                    out[str(c.get("name"))] = str(shown)
        return out
    for ctype in ("initContainers", "containers"):
        for c in spec.get(ctype) or ():
            own = ((c.get("securityContext") or {}).get("appArmorProfile") or {}).get("type")
            annotation = annotations.get(APPARMOR_ANNOTATION + str(c.get("name")))
            shown = (
                own
                or pod
                or {"runtime/default": "RuntimeDefault", "unconfined": "Unconfined"}.get(
                    str(annotation), "Localhost" if str(annotation).startswith("localhost/") else ""
                )
            )
            if shown:
                out[str(c.get("name"))] = str(shown)
    return out


def _without_apparmor(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The slim spec without appArmorProfile fields (compared through `_apparmor_effective`)."""
    out = dict(spec)
    if "appArmorProfile" in (spec.get("securityContext") or {}):
        out["securityContext"] = {k: v for k, v in spec["securityContext"].items() if k != "appArmorProfile"}
    for ctype in ("initContainers", "containers"):
        if any("appArmorProfile" in (c.get("securityContext") or {}) for c in spec.get(ctype) or ()):
            out[ctype] = [
                {**c, "securityContext": {k: v for k, v in c["securityContext"].items() if k != "appArmorProfile"}}
                if "appArmorProfile" in (c.get("securityContext") or {})
                else c
                for c in spec[ctype]
            ]
    return out


def _same_pod(
    spec: Mapping[str, Any],
    annotations: Mapping[str, str] | None,
    template: Mapping[str, Any],
    template_annotations: Mapping[str, str] | None,
    known: tuple[dict[str, str], dict[str, Any]] | None = None,
) -> bool:
    """A pod runs its template: same spec (`same_pod_spec`) and the same AppArmor profiles.

    The API server copies AppArmor fields into annotations on pods (and annotations into fields),
    never on templates: the profiles are compared as the kubelet applies them, not as written.
    """
    template_apparmor, template_form = known if known is not None else (_apparmor_effective(template, None), None)
    if (annotations or None) == (template_annotations or None) and not (
        template_apparmor or _apparmor_effective(spec, None)
    ):
        return same_pod_spec(spec, template, template_form)
    if _apparmor_effective(spec, annotations) != _apparmor_effective(template, template_annotations):
        return False
    return same_pod_spec(_without_apparmor(spec), _without_apparmor(template))


def debug_spec(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    """What of a controller-owned pod's slim spec its template does not say: ephemeral containers.

    `kubectl debug` adds ephemeral containers to running pods only; they may run privileged and
    never appear in a template. Keep them with the pod-level securityContext they inherit from.
    """
    if not spec.get("ephemeralContainers"):
        return None
    return {k: spec[k] for k in ("securityContext", "ephemeralContainers", "os") if k in spec}


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
    data = load_bounded(_str(text))  # text from the cluster: aliases bounded like any file
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


def _selector(value: Any, path: str, problems: _Problems) -> dict[str, Any] | None:
    """A label selector (matchLabels, matchExpressions), its types checked; None when it is invalid."""
    before = len(problems.items)
    selector = problems.mapping(value, path)
    if selector is None:
        return None
    out: dict[str, Any] = {}
    labels = problems.mapping(selector.get("matchLabels"), path + ".matchLabels")
    if labels:
        out["matchLabels"] = {_str(k): problems.string(v, f"{path}.matchLabels.{k}") for k, v in labels.items()}
    expressions = problems.sequence(selector.get("matchExpressions"), path + ".matchExpressions")
    if expressions:
        kept = []
        for i, expr in enumerate(expressions):
            expr = problems.mapping(expr, f"{path}.matchExpressions[{i}]")
            if expr is None:
                continue
            values = problems.sequence(expr.get("values"), f"{path}.matchExpressions[{i}].values") or []
            kept.append(
                {
                    "key": _str(expr.get("key")),
                    "operator": _str(expr.get("operator")),
                    "values": [_str(v) for v in values],
                }
            )
        out["matchExpressions"] = kept
    return None if len(problems.items) > before else out


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


def _role_selector(selector: Any) -> dict[str, Any] | None:
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
    selectors = [_role_selector(s) for s in raw]
    if any(s is None for s in selectors):
        return {"clusterRoleSelectors": [s for s in selectors if s is not None], "invalid": True}
    return {"clusterRoleSelectors": selectors}


class EvidenceBuilder:
    """Accumulates slim objects per evidence section, from any input."""

    def __init__(self, default_namespace: str = "default", mirror_pods_only: bool = False) -> None:
        self.default_namespace = default_namespace
        """Namespace given to namespaced objects that name none (offline manifests)."""
        self.mirror_pods_only = mirror_pods_only
        """Read control-plane flags only from mirror pods (controlled by their Node), as a live API
        server shows static pods; any pod someone created with the right name or labels is not one."""
        self.sections: dict[str, list[dict[str, Any]]] = {k.section: [] for k in KINDS}
        """Section name -> slim objects."""
        self.controlplane: dict[str, list[dict[str, Any]]] = {c: [] for c in CONTROL_PLANE_COMPONENTS.values()}
        """Control-plane component -> its static pods with parsed flags."""
        self.kubelet: dict[str, Any] | None = None
        """The kubelet configuration, when the kubelet-config ConfigMap was seen."""
        self._source: dict[str, Any] | None = None
        self._templates: dict[str, tuple[str, str, str, dict[str, Any], dict[str, str] | None]] = {}
        """uid -> (kind, namespace, name, slim pod spec, template AppArmor annotations) of every controller."""
        self._template_forms: dict[str, tuple[dict[str, str], dict[str, Any]]] = {}
        """uid -> (AppArmor profiles without annotations, `_comparable` form) of a controller's template."""
        self._idle: set[str] = set()
        """UIDs of ReplicaSets scaled to zero: their pods (still terminating) are evaluated as themselves."""
        self.configs: dict[str, list[dict[str, Any]]] = {}
        """Control-plane configuration files found in offline input, by kind (see `CONFIG_KINDS`)."""
        self.problems: list[dict[str, Any]] = []
        """Objects of the input that cannot be understood (a kind that is not a string, no kind)."""
        self.ignored: Counter[str] = Counter()
        """Kinds seen but not used (ConfigMaps, Secrets, custom resources), by count."""

    def add(self, obj: Any, kind: str | None = None, source: dict[str, Any] | None = None) -> bool:
        """Slim one raw object into its section; return False when the kind is not used.

        `kind` is given by the live collector (LIST items carry none); offline objects name it.
        `source` (file, line, document) is kept for offline input so reports can point at it.
        """
        if not isinstance(obj, dict):
            return False
        raw_kind = obj.get("kind")
        if kind is None and raw_kind is not None and not isinstance(raw_kind, str):
            self.problems.append({"source": source or {}, "problem": f"kind is {_shown(raw_kind)}, not a string"})
            self.ignored["(kind not a string)"] += 1
            return False
        kind = kind or _str(raw_kind)
        if kind in CONFIG_KINDS and _str(obj.get("apiVersion")).partition("/")[0] == CONFIG_KINDS[kind]:
            self._config_file(obj, kind, source)
            return True
        slimmer = _SLIMMERS.get(kind)
        if slimmer is None or not self._group_ok(kind, obj):
            if kind == "ConfigMap":
                self._config_map(obj, source)
            if not kind:
                self.problems.append({"source": source or {}, "problem": "the object names no kind"})
            self.ignored[kind or "(no kind)"] += 1
            return False
        self._source = source
        slim = slimmer(self, obj, kind)
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
        if isinstance(meta.get("uid"), str) and meta["uid"]:
            out["uid"] = meta["uid"]
        owners = _owner_refs(meta.get("ownerReferences"))
        if owners:
            out["ownerReferences"] = owners
        if labels:
            out["labels"] = _labels(meta.get("labels"))
        return out

    def _namespace(self, obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
        return {"metadata": self._meta(obj, kind, labels=True)}

    def _judge_owner(self, slim: dict[str, Any], kind: str, final: bool = False) -> None:
        """Mark `slim` (a Pod, ReplicaSet or Job) `owned` when its controller, matched by UID, is in
        the evidence and its pod spec is the controller's template; otherwise say why it is evaluated.

        An ownerReference is data its author writes: a name proves nothing, and even a UID only
        proves that the owner exists. Only an object that runs exactly its owner's template is left
        to the owner's verdict; a pod whose spec differs (a forged reference, an old ReplicaSet,
        an injected sidecar) is evaluated as itself. `final` (after all input was read) records an
        owner that never appeared.
        """
        meta = slim["metadata"]
        if "owned" in slim or "owner_note" in slim:
            return
        controller = None
        for ref in meta.get("ownerReferences") or ():
            if ref.get("controller"):
                controller = ref
                break
        if controller is None:
            return
        uid = controller.get("uid")
        found = self._templates.get(uid) if uid else None
        if found is None:
            if final and controller["kind"] not in POD_SPEC_PATH:
                slim["owner_note"] = f"its controller is a {controller['kind']}, which carries no pod template"
            elif final:
                shown = f"{controller['kind']} {controller['name']}"
                slim["owner_note"] = (
                    f"its controller {shown} is not in the evidence (matched by UID)"
                    if uid
                    else f"its ownerReference to {shown} carries no UID"
                )
            return
        owner_kind, namespace, name, template, annotations = found
        if uid in self._idle:
            slim["owner_note"] = f"its controller {owner_kind} {namespace}/{name} is scaled to zero"
            return
        if owner_kind != controller["kind"] or namespace != meta.get("namespace"):
            slim["owner_note"] = (
                f"its ownerReference UID belongs to {owner_kind} {namespace}/{name}, "
                "not to the kind or namespace the reference names"
            )
            return
        path = POD_SPEC_PATH[kind]
        spec = _get_path(slim, path) or {}
        mine = (
            slim["metadata"].get("annotations")
            if kind == "Pod"
            else _get_path(slim, (*path[:-1], "metadata", "annotations"))
        )
        known = self._template_forms.get(uid)
        if known is None:  # what every pod of the template is compared with, computed once
            known = self._template_forms[uid] = (_apparmor_effective(template, None), _comparable(template))
        if slim.get("invalid") or not _same_pod(spec, mine, template, annotations, known):
            slim["owner_note"] = (
                f"its pod spec differs from the template of its controller {owner_kind} {namespace}/{name}"
            )
            return
        slim["owned"] = True
        slim["owner"] = f"{owner_kind} {namespace}/{name}"
        if kind == "Pod":
            debug = debug_spec(slim.pop("spec", {}))
            if debug:
                slim["spec"] = debug
        else:
            slim.pop("spec", None)

    def _pod(self, obj: Mapping[str, Any], kind: str) -> dict[str, Any]:
        meta = self._meta(obj, kind, labels=True)
        raw_meta = obj.get("metadata")
        annotations = _annotations(raw_meta.get("annotations")) if isinstance(raw_meta, dict) else None
        if annotations:
            meta["annotations"] = annotations
        spec = obj.get("spec")
        if meta.get("namespace") == "kube-system":
            self._control_plane(obj, meta, spec)
        problems = _Problems()
        slim: dict[str, Any] = {"metadata": meta, "spec": slim_pod_spec(spec, "spec", problems)}
        if problems.items:
            slim["invalid"] = problems.items
        self._judge_owner(slim, kind)
        return slim

    def _control_plane(self, obj: Mapping[str, Any], meta: dict[str, Any], spec: Any) -> None:
        raw_meta = obj.get("metadata")
        labels = raw_meta.get("labels") if isinstance(raw_meta, dict) else None
        component = _str(labels.get("component")) if isinstance(labels, dict) else ""
        if component not in CONTROL_PLANE_COMPONENTS:
            component = next((c for c in CONTROL_PLANE_COMPONENTS if meta["name"].startswith(c + "-")), "")
        if not component:
            return
        controllers = [r for r in meta.get("ownerReferences") or () if r.get("controller")]
        mirror = len(controllers) == 1 and controllers[0].get("kind") == "Node"
        if (controllers and not mirror) or (self.mirror_pods_only and not mirror):
            return  # not a static pod: evaluated as a workload, never read as the control plane
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
        meta = self._meta(obj, kind, labels=True)
        path = POD_SPEC_PATH[kind]
        problems = _Problems()
        template_meta = _get_path(obj, (*path[:-1], "metadata"))
        annotations = _annotations(template_meta.get("annotations")) if isinstance(template_meta, dict) else None
        spec = slim_pod_spec(_get_path(obj, path), ".".join(path), problems)
        out: dict[str, Any] = {"metadata": meta}
        _set_path(out, path, spec)
        if annotations:
            _set_path(out, (*path[:-1], "metadata", "annotations"), annotations)
        if problems.items:
            out["invalid"] = problems.items
        replicas = _get_path(obj, ("spec", "replicas"))
        if kind == "ReplicaSet" and type(replicas) is int:
            out["spec"]["replicas"] = replicas
        if "uid" in meta:
            self._templates[meta["uid"]] = (kind, meta["namespace"], meta["name"], spec, annotations)
            self._template_forms.pop(meta["uid"], None)  # a UID given twice: compare with the latest
            if kind == "ReplicaSet" and replicas == 0:
                self._idle.add(meta["uid"])
        if kind in OWNED_KINDS:
            self._judge_owner(out, kind)
        return out

    def finish(self) -> None:
        """Judge the owners of objects read before their controller (offline input in any order).

        Pods, ReplicaSets and Jobs that run exactly the template of a controller in the evidence
        (matched by UID) lose their spec and are marked `owned: true` (a pod keeps its ephemeral
        containers, see `debug_spec`); every other one keeps its spec and an `owner_note` saying
        why it is evaluated as itself.
        """
        for kind in OWNED_KINDS:
            for obj in self.sections[BY_KIND[kind].section]:
                self._judge_owner(obj, kind, final=True)

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
        problems = _Problems()
        spec = problems.mapping(obj.get("spec"), "spec") or {}
        selector = _selector(spec.get("podSelector"), "spec.podSelector", problems)
        slim: dict[str, Any] = {"podSelector": selector if selector is not None else {}}
        types = problems.sequence(spec.get("policyTypes"), "spec.policyTypes")
        if types is not None:
            slim["policyTypes"] = [problems.string(t, "spec.policyTypes[]") for t in types]
        for key, peers in (("ingress", "from"), ("egress", "to")):
            rules = problems.sequence(spec.get(key), f"spec.{key}")
            if rules is None:
                continue
            kept: list[dict[str, Any]] = []
            for i, raw_rule in enumerate(rules):
                where = f"spec.{key}[{i}]"
                rule = problems.mapping(raw_rule, where)
                if rule is None:
                    kept.append({})
                    continue
                entry: dict[str, Any] = {}
                for field in (peers, "ports"):
                    values = problems.sequence(rule.get(field), f"{where}.{field}")
                    if values:
                        entry[field] = [
                            v if isinstance(v, dict) else problems.mapping(v, f"{where}.{field}[]") or {}
                            for v in values
                        ]
                for j, peer in enumerate(entry.get(peers) or ()):
                    for sel in ("podSelector", "namespaceSelector"):
                        if sel in peer:
                            _selector(peer[sel], f"{where}.{peers}[{j}].{sel}", problems)
                kept.append(entry)
            slim[key] = kept
        out: dict[str, Any] = {"metadata": self._meta(obj, kind), "spec": slim}
        if problems.items:
            out["invalid"] = problems.items
        return out

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
                if not isinstance(hook, dict):
                    continue
                entry: dict[str, Any] = {
                    "name": _str(hook.get("name")),
                    "failurePolicy": _str(hook.get("failurePolicy")),
                }
                client = hook.get("clientConfig")
                service = client.get("service") if isinstance(client, dict) else None
                if isinstance(service, dict):
                    entry["service"] = {
                        k: _str(service.get(k)) for k in ("namespace", "name", "path") if service.get(k) is not None
                    }
                elif isinstance(client, dict) and client.get("url"):
                    entry["url"] = True
                rules = hook.get("rules")
                if isinstance(rules, list):
                    entry["rules"] = [
                        {
                            k: [_str(v) for v in r[k]]
                            for k in ("apiGroups", "apiVersions", "operations", "resources")
                            if isinstance(r.get(k), list)
                        }
                        | ({"scope": _str(r["scope"])} if r.get("scope") else {})
                        for r in rules
                        if isinstance(r, dict)
                    ]
                for sel in ("namespaceSelector", "objectSelector"):
                    if hook.get(sel) is not None:
                        entry[sel] = _selector(hook[sel], sel, _Problems()) or {"invalid": True}
                if isinstance(hook.get("matchConditions"), list) and hook["matchConditions"]:
                    entry["matchConditions"] = len(hook["matchConditions"])
                hooks.append(entry)
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

    def controlplane_section(self, missing_reason: str, offline: bool = False) -> dict[str, Any]:
        """The `controlplane` section: static pods per component, whether the API server is visible,
        and (offline) the configuration files the input holds."""
        visible = bool(self.controlplane["apiserver"])
        section: dict[str, Any] = {"visible": visible, **self.controlplane}
        section["configs"] = {k: list(v) for k, v in self.configs.items()} if offline else {}
        section["configs_visible"] = offline
        if not visible:
            section["reason"] = missing_reason
        return section

    def inputs_section(self) -> dict[str, Any]:
        """The `inputs` section (offline): objects not understood, and kinds read but not evaluated."""
        return {"invalid": list(self.problems), "unevaluated_kinds": dict(sorted(self.ignored.items()))}

    def _config_file(self, obj: Mapping[str, Any], kind: str, source: dict[str, Any] | None) -> None:
        """Keep what the checks judge of a control-plane configuration file (never key material)."""
        data: dict[str, Any] = {}
        if kind == "EncryptionConfiguration":
            resources = []
            for entry in obj.get("resources") or ():
                if not isinstance(entry, dict):
                    continue
                providers = []
                for provider in entry.get("providers") or ():
                    if isinstance(provider, dict) and provider:
                        name = _str(next(iter(provider)))
                        detail = provider[next(iter(provider))]
                        kept = (
                            {"apiVersion": _str(detail.get("apiVersion", "v1"))}
                            if name == "kms" and isinstance(detail, dict)
                            else {}
                        )
                        providers.append({name: kept})
                resources.append({"resources": [_str(r) for r in entry.get("resources") or ()], "providers": providers})
            data["resources"] = resources
        elif kind == "Policy":
            rules = []
            for rule in obj.get("rules") or ():
                if not isinstance(rule, dict):
                    continue
                slim_rule: dict[str, Any] = {"level": _str(rule.get("level"))}
                for key in ("users", "userGroups", "verbs", "namespaces", "nonResourceURLs"):
                    if isinstance(rule.get(key), list) and rule[key]:
                        slim_rule[key] = [_str(v) for v in rule[key]]
                if isinstance(rule.get("resources"), list):
                    slim_rule["resources"] = [
                        {
                            "group": _str(r.get("group")),
                            **{
                                k: [_str(v) for v in r[k]]
                                for k in ("resources", "resourceNames")
                                if isinstance(r.get(k), list) and r[k]
                            },
                        }
                        for r in rule["resources"]
                        if isinstance(r, dict)
                    ]
                rules.append(slim_rule)
            data["rules"] = rules
        elif kind == "AuthorizationConfiguration":
            data["authorizers"] = [
                {"type": _str(a.get("type")), "name": _str(a.get("name"))}
                for a in obj.get("authorizers") or ()
                if isinstance(a, dict)
            ]
        else:
            anonymous = obj.get("anonymous")
            if isinstance(anonymous, dict):
                data["anonymous"] = {
                    "enabled": _json_scalar(anonymous.get("enabled")),
                    "conditions": [
                        {"path": _str(c.get("path"))} for c in anonymous.get("conditions") or () if isinstance(c, dict)
                    ],
                }
        found: dict[str, Any] = {"kind": kind, "data": data}
        if source is not None:
            found["source"] = source
        self.configs.setdefault(kind, []).append(found)

    def counts(self) -> dict[str, int]:
        """Objects kept per section (and control-plane configuration files, when the input had any)."""
        counts = {name: len(items) for name, items in self.sections.items()}
        configs = sum(len(v) for v in self.configs.values())
        if configs:
            counts["controlplane configuration files"] = configs
        return counts

    def absorb(self, later: EvidenceBuilder) -> bool:
        """Take in what `later` read from the input right after everything this builder read.

        The result is what one builder reading both parts in order would hold (sections, control
        plane, configs and problems in order, the latest kubelet configuration, the counts), so a
        large input can be read in parts by several processes. An object of `later` whose controller
        only this builder had seen is judged now, as `add` would have judged it. False, and nothing
        changed, when the order cannot be recovered: a controller UID registered in both (which
        template a pod is compared with depends on where it stood), different settings, or state
        this method does not know (a builder grown since: read sequentially rather than guess).
        """
        if (
            set(vars(later)) != _BUILDER_STATE
            or set(vars(self)) != _BUILDER_STATE
            or (later.default_namespace, later.mirror_pods_only) != (self.default_namespace, self.mirror_pods_only)
            or not self._templates.keys().isdisjoint(later._templates)
            or not self._idle.isdisjoint(later._idle)
        ):
            return False
        late = []
        for kind in sorted(OWNED_KINDS):
            for obj in later.sections[BY_KIND[kind].section]:
                if "owned" in obj or "owner_note" in obj:
                    continue
                refs = obj["metadata"].get("ownerReferences") or ()
                controller = next((r for r in refs if r.get("controller")), None)
                if controller is not None and controller.get("uid") in self._templates:
                    late.append((obj, kind))
        for name, objects in later.sections.items():
            self.sections.setdefault(name, []).extend(objects)
        for component, entries in later.controlplane.items():
            self.controlplane.setdefault(component, []).extend(entries)
        if later.kubelet is not None:
            self.kubelet = later.kubelet
        if later._source is not None:
            self._source = later._source
        self._templates.update(later._templates)
        self._template_forms.update(later._template_forms)
        self._idle |= later._idle
        for config_kind, found in later.configs.items():
            self.configs.setdefault(config_kind, []).extend(found)
        self.problems.extend(later.problems)
        for ignored_kind, count in later.ignored.items():
            self.ignored[ignored_kind] += count
        for obj, kind in late:  # their controller's template is this builder's (no UID in both): as `add` judged
            self._judge_owner(obj, kind)
        return True


_BUILDER_STATE = frozenset(
    {
        "default_namespace",
        "mirror_pods_only",
        "sections",
        "controlplane",
        "kubelet",
        "_source",
        "_templates",
        "_template_forms",
        "_idle",
        "configs",
        "problems",
        "ignored",
    }
)
"""The attributes of a builder `EvidenceBuilder.absorb` knows how to merge (a new one makes it refuse)."""


_SLIMMERS: dict[str, Callable[[EvidenceBuilder, Mapping[str, Any], str], dict[str, Any]]] = {
    "Namespace": EvidenceBuilder._namespace,
    "Pod": EvidenceBuilder._pod,
    "ServiceAccount": EvidenceBuilder._service_account,
    "Service": EvidenceBuilder._service,
    "LimitRange": EvidenceBuilder._limit_range,
    "Deployment": EvidenceBuilder._workload,
    "StatefulSet": EvidenceBuilder._workload,
    "DaemonSet": EvidenceBuilder._workload,
    "ReplicaSet": EvidenceBuilder._workload,
    "Job": EvidenceBuilder._workload,
    "CronJob": EvidenceBuilder._workload,
    "Ingress": EvidenceBuilder._ingress,
    "NetworkPolicy": EvidenceBuilder._network_policy,
    "Role": EvidenceBuilder._role,
    "ClusterRole": EvidenceBuilder._role,
    "RoleBinding": EvidenceBuilder._binding,
    "ClusterRoleBinding": EvidenceBuilder._binding,
    "ValidatingWebhookConfiguration": EvidenceBuilder._webhooks,
    "MutatingWebhookConfiguration": EvidenceBuilder._webhooks,
}
"""Kind -> the builder's slimming method (a class-level table: a builder holding its own bound
methods would be a reference cycle, freed only by the cyclic garbage collector)."""
