"""Destination scopes and what counts as external."""

from __future__ import annotations

import pytest

from kubetrail.identity.ips import Holder
from kubetrail.identity.scope import networks, place


def holder(scope: str) -> Holder:
    return Holder(scope, "c", "ns/p" if scope == "pod" else None, None, None, None, 0, None, 0, 0, 1)


def test_a_held_address_takes_its_holders_scope_and_is_never_external() -> None:
    assert place("52.94.1.10", holder("pod")) == place("52.94.1.10", holder("pod"))
    assert (place("52.94.1.10", holder("node")).scope, place("52.94.1.10", holder("node")).external) == ("node", False)


def test_unheld_addresses_by_range() -> None:
    cases = {
        "169.254.169.254": ("link-local", False),
        "10.0.7.7": ("private", False),
        "100.64.3.2": ("private", False),
        "198.51.100.23": ("public", True),
        "8.8.8.8": ("public", True),
        "fd00::1": ("private", False),
        "2606:4700::1111": ("public", True),
        "127.0.0.1": ("unknown", False),
    }
    assert {ip: (place(ip, None).scope, place(ip, None).external) for ip in cases} == cases


def test_the_apiserver_label_names_the_api_server_and_world_is_only_a_hint() -> None:
    assert place("10.96.0.1", None, ["reserved:kube-apiserver"]).scope == "apiserver"
    assert place("10.0.7.7", None, ["reserved:world"]).external is False


def test_configured_internal_networks_replace_the_defaults() -> None:
    assert place("10.0.7.7", None, internal=networks(["192.168.0.0/16"])).external is True
    assert place("203.0.113.9", None, internal=networks(["203.0.113.0/24"])).scope == "private"
    with pytest.raises(ValueError, match="not a CIDR"):
        networks(["10.0.0.0/33"])
