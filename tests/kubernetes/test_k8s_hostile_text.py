"""YAML text read from a cluster (kubelet ConfigMap) and kubeconfig files are bounded like files."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.kubernetes.plugin import PLUGIN
from checks.kubernetes.slim import parse_kubelet_config
from scanner.interface import Target

BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    + ["kind: KubeletConfiguration", "authentication: *a8"]
)


@pytest.mark.parametrize("text", [BOMB, "a: &a [*a]\nkind: KubeletConfiguration\n"])
def test_a_kubelet_config_alias_bomb_is_refused_not_expanded(text: str) -> None:
    with pytest.raises(ValueError):
        parse_kubelet_config(text)


def test_a_hostile_kubeconfig_yields_no_credentials_and_no_hang(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(BOMB + "\nusers: [{name: u, user: {token: s3cr3t-kube-token}}]\n")
    target = Target(id="k", kind="kubernetes", url="kubeconfig:", options={"kubeconfig": str(config)})
    assert dict(PLUGIN.ambient_credentials(target)) == {}


def test_the_same_kubeconfig_without_the_bomb_yields_its_token(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("users: [{name: u, user: {token: s3cr3t-kube-token}}]\n")
    target = Target(id="k", kind="kubernetes", url="kubeconfig:", options={"kubeconfig": str(config)})
    assert [s.reveal() for s in PLUGIN.ambient_credentials(target).values()] == ["s3cr3t-kube-token"]
