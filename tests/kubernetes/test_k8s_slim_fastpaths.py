"""The slimming fast paths give what the general code gives, on ordinary and hostile shapes.

`REFERENCE` holds the general implementations as they were before the fast paths (one table
lookup per securityContext field, the `_same_spec_fast` shortcut of `same_pod_spec`, the
no-annotation branch of `_apparmor_effective`, single-pass labels and annotations): each
property feeds the same generated input to both and compares results and recorded problems.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.kubernetes import slim
from checks.kubernetes.slim import APPARMOR_ANNOTATION, _json_scalar, _Problems, _shown, _str

# --- the general paths, as written before the fast paths -------------------------------------

_intern = slim._intern


def ref_labels(labels: Any) -> dict[str, str]:
    if not labels or type(labels) is not dict:
        return {}
    out = dict(labels)
    if all(type(v) is str for v in out.values()) and all(type(k) is str for k in out):
        return out
    return {_str(k): _str(v) for k, v in labels.items()}


def ref_annotations(annotations: Any) -> dict[str, str] | None:
    if not isinstance(annotations, dict):
        return None
    kept = {_str(k): _str(v) for k, v in annotations.items() if _str(k).startswith(APPARMOR_ANNOTATION)}
    return kept or None


def ref_security_context(sc: Any, path: str, problems: _Problems, pod: bool) -> dict[str, Any] | None:
    if not sc:
        return None
    sc = problems.mapping(sc, path)
    if not sc:
        return None
    out: dict[str, Any] = {}
    for key, value in sc.items():
        if value is None:
            continue
        if key in slim._BOOL_SC_KEYS and (not pod or key == "runAsNonRoot"):
            out[key] = problems.boolean(value, path, key)
        elif key in slim._INT_SC_KEYS:
            out[key] = problems.integer(value, path, key)
        elif key == "procMount" and not pod:
            out[key] = _intern(problems.string(value, path, key))
        elif key == "capabilities" and not pod:
            caps = problems.mapping(value, path, key)
            if caps:
                slim_caps = {}
                for name in ("add", "drop"):
                    values = problems.sequence(caps.get(name), path, f"capabilities.{name}")
                    if values is not None:
                        slim_caps[name] = [_intern(_str(v)) for v in values]
                if slim_caps:
                    out[key] = slim_caps
        elif key == "sysctls" and pod:
            sysctls = problems.sequence(value, path, key)
            if sysctls:
                out[key] = [{"name": _str(s.get("name"))} for s in sysctls if isinstance(s, dict)]
        elif key in ("seccompProfile", "appArmorProfile"):
            profile = slim._profile(value, path, key, problems)
            if profile:
                out[key] = profile
        elif key == "seLinuxOptions":
            selinux = problems.mapping(value, path, key)
            if selinux:
                kept = {k: _str(selinux[k]) for k in ("type", "user", "role", "level") if selinux.get(k) is not None}
                if kept:
                    out[key] = kept
        elif key == "windowsOptions":
            windows = problems.mapping(value, path, key)
            if windows and windows.get("hostProcess") is not None:
                out[key] = {"hostProcess": problems.boolean(windows["hostProcess"], path, f"{key}.hostProcess")}
    return out or None


def ref_slim_container(container: Any, path: str, problems: _Problems) -> dict[str, Any]:
    if not isinstance(container, dict):
        problems.items.append(f"{path} is {_shown(container)}, not an object")
        return {"name": "", "image": ""}
    out: dict[str, Any] = {"name": _str(container.get("name")), "image": _str(container.get("image"))}
    raw_sc = container.get("securityContext")
    sc = ref_security_context(raw_sc, path + ".securityContext", problems, pod=False) if raw_sc else None
    if sc:
        out["securityContext"] = sc
    ports = problems.sequence(container.get("ports"), path, "ports")
    if ports:
        host_ports = [
            {
                "containerPort": _json_scalar(p.get("containerPort")),
                "hostPort": problems.integer(p.get("hostPort"), f"{path}.ports[{i}].hostPort"),
            }
            for i, p in enumerate(ports)
            if isinstance(p, dict) and p.get("hostPort")
        ]
        if host_ports:
            out["ports"] = host_ports
    for probe in slim._PROBES:
        host = slim._handler_host(container.get(probe))
        if host:
            out[probe] = host
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, dict):
        hooks = {k: h for k in ("postStart", "preStop") if (h := slim._handler_host(lifecycle.get(k)))}
        if hooks:
            out["lifecycle"] = hooks
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


def ref_comparable(spec: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in spec.items() if k not in ("ephemeralContainers", "serviceAccountName", "volumes")}
    out["serviceAccountName"] = spec.get("serviceAccountName") or "default"
    volumes = []
    for volume in spec.get("volumes") or ():
        kinds = set(volume) - {"name"}
        if kinds == {"persistentVolumeClaim"} or (
            kinds == {"projected"} and slim._SA_VOLUME.match(str(volume["name"]))
        ):
            continue
        volumes.append(volume)
    out["volumes"] = sorted(volumes, key=lambda v: str(v.get("name")))
    return out


def ref_same_pod_spec(pod: dict[str, Any], template: dict[str, Any]) -> bool:
    mine, theirs = ref_comparable(pod), ref_comparable(template)
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


def ref_apparmor_effective(spec: dict[str, Any], annotations: dict[str, str] | None) -> dict[str, str]:
    pod = ((spec.get("securityContext") or {}).get("appArmorProfile") or {}).get("type")
    out = {}
    for ctype in ("initContainers", "containers"):
        for c in spec.get(ctype) or ():
            own = ((c.get("securityContext") or {}).get("appArmorProfile") or {}).get("type")
            annotation = (annotations or {}).get(APPARMOR_ANNOTATION + str(c.get("name")))
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


# --- generated shapes: plausible fields holding hostile values -------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 70000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["true", "false", "1", "0", "", "ALL", "RuntimeDefault", "Localhost", "localhost/x", "unconfined"]),
    st.text(max_size=5),
)
hostile = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


def fields(keys: list[str], values: Any) -> Any:
    return st.dictionaries(st.sampled_from(keys), values, max_size=len(keys))


SC_KEYS = sorted(
    slim._BOOL_SC_KEYS
    | slim._INT_SC_KEYS
    | {"procMount", "capabilities", "sysctls", "seccompProfile", "appArmorProfile", "seLinuxOptions"}
    | {"windowsOptions", "fsGroup", "other"}
)
sc_values = st.one_of(
    hostile,
    fields(["add", "drop"], st.one_of(hostile, st.lists(scalars, max_size=3))),
    fields(["type", "localhostProfile", "user", "role", "level", "hostProcess"], hostile),
    st.lists(fields(["name", "value"], hostile), max_size=2),
)
security_contexts = st.one_of(hostile, fields(SC_KEYS, sc_values))
handlers = st.one_of(
    hostile, fields(["httpGet", "tcpSocket", "exec"], st.one_of(hostile, fields(["host", "port"], hostile)))
)
secret_refs = st.one_of(hostile, fields(["name", "key"], scalars))
env_items = fields(
    ["name", "value", "valueFrom"], st.one_of(hostile, fields(["secretKeyRef", "fieldRef"], secret_refs))
)
env_from_items = fields(["secretRef", "configMapRef"], st.one_of(hostile, fields(["name"], scalars)))
limits = st.one_of(hostile, fields(["cpu", "memory", "gpu"], hostile))
containers = st.one_of(
    hostile,
    st.fixed_dictionaries(
        {},
        optional={
            "name": scalars,
            "image": scalars,
            "securityContext": security_contexts,
            "ports": st.one_of(hostile, st.lists(fields(["containerPort", "hostPort", "name"], hostile), max_size=3)),
            "livenessProbe": handlers,
            "readinessProbe": handlers,
            "startupProbe": handlers,
            "lifecycle": st.one_of(hostile, fields(["postStart", "preStop"], handlers)),
            "resources": st.one_of(hostile, fields(["limits", "requests"], limits)),
            "env": st.one_of(hostile, st.lists(st.one_of(hostile, env_items), max_size=3)),
            "envFrom": st.one_of(hostile, st.lists(st.one_of(hostile, env_from_items), max_size=2)),
        },
    ),
)
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(fn: Any, *args: Any) -> Any:
    """A function's result (as JSON, key order included), or the exception it raised."""
    try:
        return json.dumps(fn(*args), default=repr)
    except Exception as exc:  # an exception must be the same on both paths
        return (type(exc).__name__, str(exc))


@SETTINGS
@given(security_contexts, st.booleans())
def test_security_context_is_the_general_one(sc: Any, pod: bool) -> None:
    new, ref = _Problems(), _Problems()
    assert outcome(slim._security_context, copy.deepcopy(sc), "p", new, pod) == outcome(
        ref_security_context, sc, "p", ref, pod
    )
    assert new.items == ref.items


@SETTINGS
@given(containers)
def test_slim_container_is_the_general_one(container: Any) -> None:
    new, ref = _Problems(), _Problems()
    assert outcome(slim.slim_container, copy.deepcopy(container), "c", new) == outcome(
        ref_slim_container, container, "c", ref
    )
    assert new.items == ref.items


@SETTINGS
@given(
    st.one_of(
        hostile,
        st.dictionaries(
            st.one_of(
                scalars.filter(lambda v: v is not None and not isinstance(v, float)),
                st.sampled_from([APPARMOR_ANNOTATION + "app", APPARMOR_ANNOTATION, "x"]),
            ),
            hostile,
            max_size=4,
        ),
    )
)
def test_labels_and_annotations_are_the_general_ones(value: Any) -> None:
    assert outcome(slim._labels, value) == outcome(ref_labels, value)
    assert outcome(slim._annotations, value) == outcome(ref_annotations, value)


def _slim_spec(raw: Any) -> dict[str, Any]:
    return slim.slim_pod_spec(raw, "spec", _Problems())


raw_specs = st.fixed_dictionaries(
    {"containers": st.lists(containers, min_size=1, max_size=2)},
    optional={
        "initContainers": st.lists(containers, max_size=1),
        "ephemeralContainers": st.lists(containers, max_size=1),
        "serviceAccountName": st.sampled_from(["default", "app", ""]),
        "securityContext": security_contexts,
        "hostNetwork": hostile,
        "volumes": st.lists(
            st.one_of(
                st.builds(lambda n: {"name": n, "emptyDir": {}}, st.sampled_from(["tmp", "data"])),
                st.builds(
                    lambda n: {"name": n, "projected": {}},
                    st.sampled_from(["kube-api-access-abcde", "kube-api-access-x", "p"]),
                ),
                st.builds(lambda n: {"name": n, "persistentVolumeClaim": {}}, st.sampled_from(["data", "pvc"])),
                st.builds(lambda n: {"name": n, "hostPath": {"path": "/"}}, st.sampled_from(["host", "tmp"])),
            ),
            max_size=3,
        ),
    },
)


@st.composite
def pod_and_template(draw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A template's slim spec and a pod's: the same as admitted, or changed in one place."""
    template = _slim_spec(draw(raw_specs))
    pod = copy.deepcopy(template)
    change = draw(st.sampled_from(["none", "sa", "volume", "limit", "container", "field", "other"]))
    if change == "sa":
        pod.setdefault("serviceAccountName", "default")
    elif change == "volume":
        pod.setdefault("volumes", []).append(
            draw(
                raw_specs.map(
                    lambda s: _slim_spec({**s, "volumes": [{"name": "kube-api-access-q1w2e", "projected": {}}]})[
                        "volumes"
                    ][0]
                )
            )
        )
    elif change == "limit":
        for c in pod["containers"]:
            c.setdefault("resources", {"limits": {}})["limits"][draw(st.sampled_from(["cpu", "memory"]))] = draw(
                st.sampled_from(["1", "2"])
            )
    elif change == "container":
        pod["containers"].append(_slim_spec({"containers": [draw(containers)]})["containers"][0])
    elif change == "field":
        pod[draw(st.sampled_from(["hostPID", "hostNetwork", "securityContext"]))] = draw(
            st.sampled_from([True, {"runAsNonRoot": True}])
        )
    elif change == "other":
        pod.update(_slim_spec(draw(raw_specs)))
    return pod, template


@SETTINGS
@given(pod_and_template())
def test_same_pod_spec_is_the_general_one(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    pod, template = pair
    assert slim.same_pod_spec(pod, template) == ref_same_pod_spec(pod, template)
    assert slim.same_pod_spec(pod, template, slim._comparable(template)) == ref_same_pod_spec(pod, template)
    assert slim._comparable(pod) == ref_comparable(pod)
    if slim._same_spec_fast(pod, slim._comparable(template)):
        assert ref_same_pod_spec(pod, template)


@SETTINGS
@given(
    pod_and_template(),
    st.one_of(
        st.none(),
        st.just({}),
        st.dictionaries(
            st.sampled_from([APPARMOR_ANNOTATION + "app", APPARMOR_ANNOTATION + "x"]),
            st.sampled_from(["runtime/default", "unconfined", "localhost/p", "other"]),
            max_size=2,
        ),
    ),
)
def test_apparmor_effective_is_the_general_one(pair: tuple[dict[str, Any], dict[str, Any]], annotations: Any) -> None:
    for spec in pair:
        assert outcome(slim._apparmor_effective, spec, annotations) == outcome(
            ref_apparmor_effective, spec, annotations
        )


def test_the_fast_comparison_is_taken_and_refuses_what_it_cannot_show() -> None:
    """A pod that is its template as admitted takes the fast path; a LimitRanger default does not."""
    template = _slim_spec({"containers": [{"name": "app", "image": "i", "resources": {"limits": {"cpu": "1"}}}]})
    pod = {
        **copy.deepcopy(template),
        "serviceAccountName": "default",
        "volumes": [{"name": "kube-api-access-abcde", "projected": {}}],
    }
    assert slim._same_spec_fast(pod, slim._comparable(template))
    defaulted = copy.deepcopy(pod)
    defaulted["containers"][0]["resources"]["limits"]["memory"] = "1Gi"
    assert not slim._same_spec_fast(defaulted, slim._comparable(template))
    assert slim.same_pod_spec(defaulted, template) is True is ref_same_pod_spec(defaulted, template)
    empty = _slim_spec({"containers": [{"name": "app", "image": "i"}]})
    empty["containers"][0]["resources"] = {"limits": {}}  # not a slim shape: the general path decides (False)
    assert not slim._same_spec_fast(copy.deepcopy(empty), slim._comparable(empty))
    assert slim.same_pod_spec(copy.deepcopy(empty), empty) is False is ref_same_pod_spec(copy.deepcopy(empty), empty)
