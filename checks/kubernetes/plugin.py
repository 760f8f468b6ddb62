"""The Kubernetes target plugin: `--target kubernetes=VALUE`.

VALUE is one of
  in-cluster            the pod's service account (inside a cluster)
  CONTEXT | context:CONTEXT   a kubeconfig context (`KUBECONFIG` or ~/.kube/config, or the
                        `kubeconfig` option); `context:` alone means the current context
  manifests:PATH        a manifest file or directory (multi-document YAML, Helm output, JSON);
                        `manifests:-` reads standard input
  dump:PATH             a `kubectl get ... -o json` List dump
  PATH                  an existing path (or one starting with ./ / ../ ~ or ending in .yaml,
                        .yml, .json): a directory or YAML file is read as manifests, a JSON
                        file as a dump

Options (inventory): `kubeconfig` (path), `page_size` (LIST chunk size, default 500),
`namespace` (namespace of offline objects that name none, default `default`),
`service_account_dir` (in-cluster token and CA directory).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Collection, Mapping, Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from checks.kubernetes import cluster, controlplane, pods, rbac
from checks.kubernetes.collect import (
    DEFAULT_PAGE_SIZE,
    LiveCollector,
    ambient_credentials,
    client_credentials,
    make_api_client,
)
from checks.kubernetes.contract import CONTRACT
from checks.kubernetes.grants import least_privilege_yaml
from checks.kubernetes.kinds import KINDS
from checks.kubernetes.offline import MANIFEST_SUFFIXES, read_offline
from checks.kubernetes.slim import EvidenceBuilder
from scanner.errors import CollectionError, ConfigError
from scanner.interface import CheckSpec, Secret, Target, TargetPlugin
from scanner.model import Evidence

OFFLINE_CONTROL_PLANE = (
    "the input holds no kube-apiserver static pod (kube-system, component=kube-apiserver): "
    "the API server's flags are not visible"
)
OFFLINE_KUBELET = "the input holds no ConfigMap kube-system/kubelet-config: the kubelet configuration is not visible"
OFFLINE_VERSION = "offline input carries no API server version"

OPTIONS_LIVE = frozenset({"kubeconfig", "page_size", "service_account_dir"})
"""Options of a live target."""
OPTIONS_OFFLINE = frozenset({"namespace"})
"""Options of a manifests or dump target."""

CHECKS: tuple[CheckSpec, ...] = (
    controlplane.component_flags,
    controlplane.kubelet_config,
    controlplane.version_supported,
    controlplane.audit_policy,
    controlplane.encryption_config,
    controlplane.kubelet_setting,
    controlplane.kubelet_tls_ciphers,
    rbac.admin_bindings,
    rbac.rbac_wildcards,
    rbac.rbac_dangerous,
    rbac.anonymous_bindings,
    rbac.workload_rbac,
    rbac.broad_group_grants,
    rbac.dangerous_bindings,
    rbac.rbac_aggregation,
    pods.token_automount,
    cluster.pod_security_admission,
    pods.privileged,
    pods.host_namespaces,
    pods.host_path_ports,
    pods.non_root,
    pods.capabilities_seccomp,
    pods.read_only_root,
    pods.resource_limits,
    cluster.default_deny,
    pods.secret_env,
    pods.image_provenance,
    cluster.ingress_tls,
    cluster.input_objects,
    pods.pod_security_standard,
    pods.capability_added,
)
"""Every Kubernetes check."""


def parse_value(value: str) -> tuple[str, str]:
    """Split a target VALUE into (mode, reference): mode is in-cluster, context, manifests or dump."""
    text = value.strip()
    if text == "in-cluster":
        return "in-cluster", ""
    for mode in ("manifests", "dump", "context"):
        if text.startswith(mode + ":"):
            return mode, text[len(mode) + 1 :]
    if text == "-":
        return "manifests", "-"
    path = Path(os.path.expanduser(text))
    looks_like_path = text.startswith(("./", "../", "/", "~")) or text.endswith(MANIFEST_SUFFIXES)
    if looks_like_path or path.exists():
        if path.is_file() and path.suffix == ".json":
            return "dump", text
        return "manifests", text
    return "context", text


def scrub(text: str, credentials: Sequence[str]) -> str:
    """`text` with every credential value replaced by `[REDACTED]` (a server may echo what it received).

    The engine redacts registered credentials everywhere as well; the collector does it for its own
    messages first, so no error text it builds ever holds one.
    """
    for value in sorted(credentials, key=len, reverse=True):
        if value:
            text = text.replace(value, "[REDACTED]")
    return text


def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "cluster"


class KubernetesPlugin(TargetPlugin):
    """Kubernetes clusters (live, read-only) and offline manifests or `kubectl get -o json` dumps."""

    kind = "kubernetes"
    description = "Kubernetes clusters (kubeconfig context or in-cluster) and offline manifests / kubectl dumps"

    def checks(self) -> Sequence[CheckSpec]:
        """All Kubernetes checks."""
        return CHECKS

    def evidence_contract(self) -> Mapping[str, Mapping[str, Any]]:
        """Section name -> JSON Schema of its data (see `checks.kubernetes.contract`)."""
        return CONTRACT

    def ambient_credentials(self, target: Target) -> Mapping[str, Secret]:
        """Every credential the client would pick up for `target`: kubeconfig tokens, passwords and
        client keys (inline or in files, of every user of the kubeconfig), the in-cluster token."""
        mode, _ = parse_value(target.url)
        if mode in ("manifests", "dump"):
            return {}
        return ambient_credentials(mode, dict(target.options))

    def baselines(self) -> Sequence[Traversable]:
        """The built-in `kubernetes` baseline."""
        return (files("baselines").joinpath("kubernetes.yaml"),)

    def parse_target(self, value: str) -> Target:
        """Turn `in-cluster`, a context name, `manifests:PATH`, `dump:PATH` or a path into a Target."""
        mode, reference = parse_value(value)
        if mode in ("manifests", "dump"):
            if not reference:
                raise ConfigError(f"'{mode}:' needs a path, e.g. {mode}:./deploy")
            if reference == "-":
                target_id = "stdin"
            else:
                path = Path(os.path.expanduser(reference))
                target_id = _safe_id(path.resolve().name if path.name in ("", ".", "..") else path.stem)
            return Target(id=target_id, kind=self.kind, url=f"{mode}:{reference}")
        if mode == "in-cluster":
            return Target(id="in-cluster", kind=self.kind, url="in-cluster")
        return Target(id=_safe_id(reference or "current-context"), kind=self.kind, url=f"context:{reference}")

    def target_uri(self, target: Target) -> str:
        """`k8s://<target id>`, the base of every resource URI of the target."""
        return f"k8s://{target.id}"

    def validate_target(self, target: Target) -> None:
        """Reject unknown options and options of the wrong type (inventory errors name the line)."""
        mode, _ = parse_value(target.url)
        allowed = OPTIONS_OFFLINE if mode in ("manifests", "dump") else OPTIONS_LIVE
        for name, value in target.options.items():
            if name not in allowed:
                known = ", ".join(sorted(allowed))
                raise ConfigError(f"unknown option '{name}' for a {mode} kubernetes target (known: {known})")
            if name == "page_size":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ConfigError("option 'page_size' must be a positive integer")
            elif not isinstance(value, str) or not value:
                raise ConfigError(f"option '{name}' must be a non-empty string")

    def least_privilege(self, target: Target, sections: Collection[str]) -> str | None:
        """The ClusterRole (and its binding) that lets sovscan read exactly `sections` (checks/kubernetes/grants.py)."""
        return least_privilege_yaml(sections)

    def cpu_bound(self, target: Target) -> bool:
        """Manifest files and dumps are parsed, not waited for: the engine may read them in a worker process.

        Standard input (`manifests:-`, `dump:-`) stays in the scanning process, which owns it.
        """
        mode, reference = parse_value(target.url)
        return mode in ("manifests", "dump") and reference != "-"

    def collect(self, target: Target, secrets: Mapping[str, Secret], timeout: float) -> Evidence:
        """Read a cluster through the API, or read manifests / a dump from disk.

        The garbage collector is the engine's business (it pauses it while collecting and freezes
        large evidence): a plugin never changes process-wide state.
        """
        return self._collect(target, timeout)

    def _collect(self, target: Target, timeout: float) -> Evidence:
        mode, reference = parse_value(target.url)
        options = dict(target.options)
        builder = EvidenceBuilder(
            default_namespace=str(options.get("namespace", "default")),
            mirror_pods_only=mode not in ("manifests",),  # a live cluster or its dump shows mirror pods
        )
        started = time.monotonic()
        metadata: dict[str, Any] = {"mode": mode}
        errors: dict[str, str] = {}
        if mode in ("manifests", "dump"):
            metadata["source"] = reference
            metadata.update(read_offline(builder, mode, reference))
            builder.finish()
            builder.add_implicit_namespaces()
            sections: dict[str, Any] = {info.section: builder.sections[info.section] for info in KINDS}
            sections["controlplane"] = builder.controlplane_section(OFFLINE_CONTROL_PLANE, offline=True)
            sections["inputs"] = builder.inputs_section()
            sections["kubeletconfig"] = builder.kubelet or {"found": False, "reason": OFFLINE_KUBELET}
            sections["version"] = {"gitVersion": None, "reason": OFFLINE_VERSION}
            metadata["ignored_kinds"] = dict(sorted(builder.ignored.items()))
        else:
            credentials = [s.reveal() for s in ambient_credentials(mode, options).values()]
            try:
                api_client, client_meta = make_api_client(mode, reference, options)
                metadata.update(client_meta)
                credentials += client_credentials(api_client)  # e.g. a token an exec plugin produced
                try:
                    collector = LiveCollector(api_client, timeout, int(options.get("page_size", DEFAULT_PAGE_SIZE)))
                    sections = collector.collect(builder)
                finally:
                    api_client.close()
            except CollectionError as exc:
                raise CollectionError(exc.reason, scrub(exc.message, credentials)) from None
            errors = {k: scrub(v, credentials) for k, v in collector.errors.items()}
            metadata.update(
                requests=collector.stats.requests, bytes=collector.stats.bytes, pages=dict(collector.stats.pages)
            )
            if isinstance(sections.get("version"), dict):
                metadata["server_version"] = sections["version"].get("gitVersion")
        metadata["objects"] = builder.counts()
        metadata["read_seconds"] = round(time.monotonic() - started, 3)
        return Evidence(
            target=target.id,
            kind=self.kind,
            uri=self.target_uri(target),
            sections=sections,
            errors=errors,
            metadata=metadata,
        )


PLUGIN = KubernetesPlugin()
"""The entry point `sovscan.checks: kubernetes`."""
