"""Steady channels out: when a rhythm is the workload's design (pure)."""

from __future__ import annotations

from kubetrail.correlate.steady import Activity, Names, Reach, Rhythm, channels, design, replicaset, shared, versions

S = 10**9
MIN = 60 * S
CART = "shop/cart"


def rhythm(pod: str, first: int = 0, last: int = 120 * MIN, destination: str = "bucket.example.com") -> Rhythm:
    return Rhythm(
        "c", pod, CART, destination, 443, ("52.1.2.3",), 13, first, last, 10 * MIN, f"id-{pod}", "hubble", "network_flow"
    )


def alive(pod: str, first: int = 0, last: int = 180 * MIN, workload: str = CART) -> Activity:
    return Activity("c", pod, workload, first, last)


def test_rhythms_of_one_workload_to_one_destination_and_port_are_one_channel() -> None:
    found = channels([rhythm("shop/cart-a"), rhythm("shop/cart-b"), rhythm("shop/cart-a", destination="other.example.com")])
    assert [(c.destination, c.pods) for c in found] == [
        ("bucket.example.com", ["shop/cart-a", "shop/cart-b"]), ("other.example.com", ["shop/cart-a"])
    ]  # fmt: skip


def test_a_channel_is_shared_by_two_replicas_or_by_a_workloads_only_pod() -> None:
    (two,) = channels([rhythm("shop/cart-a"), rhythm("shop/cart-b")])
    (one,) = channels([rhythm("shop/cart-a")])
    assert shared(two, [alive("shop/cart-a"), alive("shop/cart-b"), alive("shop/cart-c")])
    assert shared(one, [alive("shop/cart-a")])  # a single replica
    assert shared(one, [alive("shop/cart-a"), alive("shop/redis-0", workload="shop/redis")])
    # A sibling that lived beside it long enough to show the rhythm and did not: one pod's beacon.
    assert not shared(one, [alive("shop/cart-a"), alive("shop/cart-b")])
    # Siblings that came and went too quickly to show a rhythm of ten-minute gaps say nothing.
    assert shared(one, [alive("shop/cart-a"), alive("shop/cart-b", 0, 20 * MIN), alive("shop/cart-c", 100 * MIN, 140 * MIN)])


def test_the_workloads_design_is_its_history_another_workload_or_its_versions() -> None:
    (c,) = channels([rhythm("shop/cart-6d4f9b7c8d-7hq4z"), rhythm("shop/cart-6d4f9b7c8d-x2k4j")])
    since = 0
    kept = [Reach("c", p, CART, "bucket.example.com", 5 * MIN) for p in c.pods]
    assert design(c, since, kept, {}) == []  # its own replicas in the window alone
    before = [Reach("c", "shop/cart-6d4f9b7c8d-7hq4z", CART, "bucket.example.com", -90 * MIN)]
    assert design(c, since, before, {}) == ["shop/cart reached it before the window"]
    other = [Reach("c", "shop/frontend-7c9d8b6f5d-q8r2t", "shop/frontend", "bucket.example.com", 50 * MIN)]
    assert design(c, since, other, {}) == ["shop/frontend reaches it too"]
    elsewhere = [Reach("c", "shop/frontend-7c9d8b6f5d-q8r2t", "shop/frontend", "other.example.com", 50 * MIN)]
    assert design(c, since, elsewhere, {}) == []
    rolled = [Reach("c", "shop/cart-5f7b9c4d6b-q8r2t", CART, "bucket.example.com", 50 * MIN)]
    assert design(c, since, rolled, {}) == ["pods of several versions of shop/cart reach it"]


def test_versions_are_replicasets_or_the_images_a_container_ran() -> None:
    assert replicaset(CART, "shop/cart-6d4f9b7c8d-7hq4z") == "6d4f9b7c8d"
    assert replicaset("kube-system/fluent-bit", "kube-system/fluent-bit-x7k2p") is None  # a DaemonSet's pod
    assert replicaset("shop/redis", "shop/redis-0") is None
    pods = ["shop/redis-0", "shop/redis-1"]
    same = {p: [("redis", "redis:7.2.5"), ("exporter", "exporter:1.0")] for p in pods}
    assert versions("shop/redis", pods, same) == 1
    assert versions("shop/redis", pods, same | {"shop/redis-1": [("redis", "redis:7.2.6")]}) == 2


def test_a_connection_is_to_the_names_the_sensor_or_dns_gave_its_address_else_the_address() -> None:
    names = Names([{"cluster": "c", "ip": "52.1.2.3", "name": "bucket.example.com"},
                   {"cluster": "c", "ip": "52.1.2.4", "name": "bucket.example.com"},
                   {"cluster": "c", "ip": "52.1.2.4", "name": "other.example.com"}])  # fmt: skip
    assert names.destinations("c", "52.1.2.3") == ["bucket.example.com"]
    assert names.destinations("c", "52.1.2.4") == ["bucket.example.com", "other.example.com"]
    assert names.destinations("c", "52.1.2.4", ["sensor.example.com"]) == ["sensor.example.com"]
    assert names.destinations("c", "198.51.100.7") == ["198.51.100.7"]
    assert names.destinations("other-cluster", "52.1.2.3") == ["52.1.2.3"]
    assert names.addresses("c", "bucket.example.com") == {"52.1.2.3", "52.1.2.4"}
    assert names.addresses("c", "198.51.100.7") == {"198.51.100.7"}
