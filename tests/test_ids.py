from __future__ import annotations

from kubetrail.ids import container_id, make_id


def test_ids_are_stable_and_key_sensitive() -> None:
    a = make_id("k8s_audit", "default", "abc", "ResponseComplete", "t")
    assert a == make_id("k8s_audit", "default", "abc", "ResponseComplete", "t")
    assert a != make_id("k8s_audit", "default", "abc", "ResponseStarted", "t")
    assert make_id("x", None) != make_id("x", "")
    assert len(a) == 32 and a == a.lower()


def test_container_ids_from_every_runtime_meet() -> None:
    full = "6b742e38ee3a212239e6d48b2954435a407af44b9a354bdf540db22f460ab40e"
    assert (
        container_id(f"containerd://{full}") == container_id(f"docker://{full}") == container_id("6b742e38ee3a") == "6b742e38ee3a"
    )
    assert container_id(f"cri-o://{full.upper()}") == "6b742e38ee3a"
    for unknown in (None, "", "host", "<NA>", "abc"):
        assert container_id(unknown) is None
