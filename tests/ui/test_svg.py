"""The incident drawn as SVG (ui/svg.py): the story in lanes and the entity graph, read back as
XML and checked by structure, with hostile field values kept as text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from kubetrail.ui.svg import graph, lanes

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script>"onmouseover=alert(2)'
LINK_KINDS = ("actor", "pod", "process", "destination")


def step(n: int, source: str, at: str = "10:00:00.000000000", summary: str = "something happened") -> dict[str, Any]:
    return {"time": f"2026-11-28T{at}Z", "source": source, "kind": "k", "summary": summary, "id": f"ev{n}"}


def event_href(event_id: str) -> str:
    return f"/ui/events/{event_id}"


def entity_href(kind: str, value: str) -> str | None:
    return None if kind == "process" else f"/ui/{kind}?v={value}&x=1"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def lane_rows(root: ET.Element) -> dict[str, ET.Element]:
    rows = [g for g in root.iter(f"{SVG}g") if "lane-row" in classes(g)]
    return {row.findtext(f"{SVG}text[@class='lane-label']") or "": row for row in rows}


def marks(root: ET.Element) -> list[tuple[ET.Element, ET.Element]]:
    """(link, circle) of each step."""
    return [(a, c) for a in root.iter(f"{SVG}a") for c in a.iter(f"{SVG}circle")]


def nodes(root: ET.Element, kind: str) -> list[str]:
    return [g.findtext(f"{SVG}title") or "" for g in root.iter(f"{SVG}g") if f"node-{kind}" in classes(g)]


def links(root: ET.Element) -> dict[str, str]:
    """A linked node's full text -> its href."""
    return {g.findtext(f"{SVG}title") or "": a.get("href", "") for a in root.iter(f"{SVG}a") for g in a.iter(f"{SVG}g")}


def assert_accessible(root: ET.Element) -> None:
    assert root.get("role") == "img" and root.get("width") == "100%" and root.get("viewBox")
    title = root.find(f"{SVG}title")
    assert title is not None and title.get("id") == root.get("aria-labelledby")


def assert_no_inline_code(svg: str, root: ET.Element) -> None:
    assert "<script" not in svg.lower() and "<style" not in svg.lower()
    for element in root.iter():
        assert not any(name == "style" or name.startswith("on") for name in element.attrib), element.attrib


# -- lanes ---------------------------------------------------------------------------------------
def test_lanes_put_each_step_in_its_source_lane() -> None:
    steps = [step(1, "k8s_audit"), step(2, "falco", "10:00:01"), step(3, "tetragon", "10:00:02"), step(4, "hubble", "10:00:03")]
    steps += [step(5, "otel", "10:00:04"), step(6, "inventory", "10:00:05")]
    root = parse(lanes(steps, event_href))
    rows = lane_rows(root)
    assert list(rows) == ["audit", "runtime", "network", "trace", "other"]
    expected = {"audit": ["ev1"], "runtime": ["ev2", "ev3"], "network": ["ev4"], "trace": ["ev5"], "other": ["ev6"]}
    for name, row in rows.items():
        assert [a.get("href") for a, _ in marks(row)] == [f"/ui/events/{i}" for i in expected[name]]
        rect = row.find(f"{SVG}rect[@class='lane']")
        assert rect is not None
        top, height = float(rect.get("y", "")), float(rect.get("height", ""))
        for a, circle in marks(row):
            source = next(s["source"] for s in steps if a.get("href") == f"/ui/events/{s['id']}")
            assert f"step-{source}" in classes(circle)
            assert top < float(circle.get("cy", "")) < top + height
    assert_accessible(root)
    assert root.findtext(f"{SVG}title") == "Incident timeline: 6 steps over 5 lanes"


def test_all_four_lanes_are_drawn_with_one_source_only() -> None:
    root = parse(lanes([step(1, "hubble"), step(2, "hubble", "10:00:09")], event_href))
    rows = lane_rows(root)
    assert list(rows) == ["audit", "runtime", "network", "trace"]
    assert [len(marks(row)) for row in rows.values()] == [0, 0, 2, 0]
    assert root.findtext(f"{SVG}title") == "Incident timeline: 2 steps over 4 lanes"


def test_the_first_step_is_marked_as_the_initiator() -> None:
    root = parse(lanes([step(1, "k8s_audit"), step(2, "falco", "10:00:05"), step(3, "falco", "10:00:09")], event_href))
    initiators = [a.get("href") for a, c in marks(root) if "initiator" in classes(c)]
    assert initiators == ["/ui/events/ev1"]
    assert [t.text for t in root.iter(f"{SVG}text") if "start-label" in classes(t)] == ["start"]


def test_order_on_x_follows_time() -> None:
    steps = [step(1, "k8s_audit"), step(2, "otel", "10:05:00"), step(3, "falco", "10:01:00"), step(4, "hubble", "10:10:00")]
    root = parse(lanes(steps, event_href))
    x = {a.get("href", "").rsplit("/", 1)[1]: float(c.get("cx", "")) for a, c in marks(root)}
    assert x["ev1"] < x["ev3"] < x["ev2"] < x["ev4"]
    assert x["ev2"] - x["ev1"] > x["ev3"] - x["ev1"]  # linear in time: 5 min further than 1 min


def test_one_step_or_equal_times_sit_in_the_middle_and_do_not_hide_each_other() -> None:
    root = parse(lanes([step(1, "falco"), step(2, "falco"), step(3, "tetragon")], event_href, width=960))
    spots = [(float(c.get("cx", "")), float(c.get("cy", ""))) for _, c in marks(root)]
    assert len(set(spots)) == 3
    assert all(300 < x < 660 for x, _ in spots)


def test_the_axis_labels_times_in_utc_and_adds_the_date_across_a_day() -> None:
    same_day = parse(lanes([step(1, "falco", "10:00:00"), step(2, "falco", "10:08:00")], event_href))
    labels = [t.findtext(f"{SVG}text") for t in same_day.iter(f"{SVG}g") if "tick" in classes(t)]
    assert labels == ["10:00:00", "10:02:00", "10:04:00", "10:06:00", "10:08:00"]
    late, early = step(1, "falco", "23:59:00"), {**step(2, "falco"), "time": "2026-11-29T00:01:00.000000000Z"}
    across = parse(lanes([late, early], event_href))
    labels = [t.findtext(f"{SVG}text") for t in across.iter(f"{SVG}g") if "tick" in classes(t)]
    assert labels[0] == "2026-11-28 23:59:00" and labels[-1] == "2026-11-29 00:01:00"


def test_a_hostile_summary_comes_out_escaped_and_the_svg_still_parses() -> None:
    hostile = {**step(1, 'falco"><script>', summary=HOSTILE), "id": 'x"onclick="alert(3)'}
    svg = lanes([hostile], lambda event_id: f"/ui/events/{event_id}")
    root = parse(svg)
    assert_no_inline_code(svg, root)
    ((a, circle),) = marks(root)
    assert circle.findtext(f"{SVG}title") == f"2026-11-28T10:00:00.000000000Z — {HOSTILE}"  # kept, as text
    assert a.get("href") == '/ui/events/x"onclick="alert(3)'
    assert "step" in classes(circle) and not any("<" in c or '"' in c for c in classes(circle))


def test_step_links_come_from_the_callback() -> None:
    root = parse(
        lanes([step(1, "falco"), step(2, "otel", "10:00:01")], lambda event_id: f"https://x.example/e?id={event_id}&a=1")
    )
    assert sorted(a.get("href", "") for a, _ in marks(root)) == [
        "https://x.example/e?id=ev1&a=1",
        "https://x.example/e?id=ev2&a=1",
    ]


# -- graph ---------------------------------------------------------------------------------------
def incident(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": "inc1", "title": "t", "severity": "high", "start": "", "end": "", "clusters": ["c"]}
    doc |= {"pods": [], "actors": [], "destinations": [], "techniques": [], "steps": []}
    return doc | extra


def story() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    events: dict[str, dict[str, Any]] = {
        "e1": {"source": "k8s_audit", "kind": "exec", "actor": "alice@example.com", "namespace": "shop", "pod_name": "web-1"},
        "e2": {"source": "falco", "namespace": "shop", "pod_name": "web-1", "binary": "/bin/sh", "actor": None},
        "e3": {"source": "tetragon", "namespace": "shop", "pod_name": "web-1", "binary": "/bin/sh", "dst_ip": "203.0.113.9"}
        | {"dst_port": 443, "dst_names": ["evil.example"], "dns_query": None},
        "e4": {"source": "hubble", "namespace": "shop", "pod_name": "web-1", "dst_ip": "198.51.100.2", "dst_port": 53},
    }
    steps = [{"id": i, "time": "", "source": e["source"], "kind": "", "summary": ""} for i, e in events.items()]
    doc = incident(steps=steps, actors=["alice@example.com"], pods=["shop/web-1"], destinations=["203.0.113.9", "evil.example"])
    return doc, events


def edges(root: ET.Element) -> int:
    return sum(1 for p in root.iter(f"{SVG}path") if "edge" in classes(p))


def test_the_graph_draws_actor_pod_process_and_destination_with_their_edges() -> None:
    doc, events = story()
    svg = graph(doc, events, entity_href)
    root = parse(svg)
    assert_accessible(root)
    assert nodes(root, "actor") == ["alice@example.com"]
    assert nodes(root, "pod") == ["shop/web-1"]
    assert nodes(root, "process") == ["/bin/sh"]
    assert nodes(root, "destination") == ["evil.example:443", "198.51.100.2:53"]  # the incident's own names add no twin
    # actor→pod, pod→/bin/sh, /bin/sh→evil.example:443, pod→198.51.100.2:53 (no binary)
    assert edges(root) == 4
    assert root.findtext(f"{SVG}title") == "Entity graph: 5 entities and 4 links"
    spot = {
        g.findtext(f"{SVG}title"): float(g.find(f"{SVG}rect").get("x", ""))  # type: ignore[union-attr]
        for g in root.iter(f"{SVG}g")
        if "node" in classes(g)
    }
    assert spot["alice@example.com"] < spot["shop/web-1"] < spot["/bin/sh"] < spot["evil.example:443"]


def test_the_graph_dedupes_nodes_and_edges() -> None:
    doc, events = story()
    events |= {f"x{n}": dict(events["e3"]) for n in range(5)}
    root = parse(graph(doc, events, entity_href))
    assert nodes(root, "destination") == ["evil.example:443", "198.51.100.2:53"]
    assert edges(root) == 4


def test_a_column_is_capped_at_twelve_with_a_count_of_the_rest() -> None:
    events = {f"e{n}": {"namespace": "shop", "pod_name": "web-1", "binary": f"/usr/bin/tool{n:02d}"} for n in range(20)}
    root = parse(graph(incident(), events, entity_href))
    shown = nodes(root, "process")
    assert shown[:12] == [f"/usr/bin/tool{n:02d}" for n in range(12)] and len(shown) == 13
    more = [g for g in root.iter(f"{SVG}g") if "node-more" in classes(g)]
    assert [g.findtext(f"{SVG}text") for g in more] == ["+8 more"]
    assert edges(root) == 12  # no edge to what is not drawn


def test_graph_links_come_from_the_callback_and_long_names_are_cut_with_the_full_name_kept() -> None:
    doc, events = story()
    long_binary = "/opt/" + "very-long-directory/" * 4 + "payload"
    events["e2"]["binary"] = long_binary
    root = parse(graph(doc, events, entity_href))
    linked = links(root)
    assert linked["alice@example.com"] == "/ui/actor?v=alice@example.com&x=1"
    assert linked["shop/web-1"] == "/ui/pod?v=shop/web-1&x=1"
    assert linked["evil.example:443"] == "/ui/destination?v=evil.example:443&x=1"
    assert "/bin/sh" not in linked and long_binary not in linked  # the callback gave no URL for processes
    (label,) = [g.findtext(f"{SVG}text") or "" for g in root.iter(f"{SVG}g") if g.findtext(f"{SVG}title") == long_binary]
    assert label.endswith("…") and len(label) <= 40 and long_binary.startswith(label[:-1])


def test_hostile_entity_values_come_out_escaped() -> None:
    events = {
        "e1": {"actor": HOSTILE, "namespace": "<b>", "pod_name": "p\"onload='x'", "binary": "&amp;", "dns_query": "<i>x</i>"}
    }
    svg = graph(incident(actors=[HOSTILE]), events, lambda kind, value: f"/ui/{kind}?v={value}")
    root = parse(svg)
    assert_no_inline_code(svg, root)
    assert nodes(root, "actor") == [HOSTILE]
    assert nodes(root, "pod") == ["<b>/p\"onload='x'"]
    assert nodes(root, "process") == ["&amp;"]
    assert nodes(root, "destination") == ["<i>x</i>"]
    assert links(root)[HOSTILE] == f"/ui/actor?v={HOSTILE}"


def test_an_incident_without_entities_says_so() -> None:
    svg = graph(incident(), {"e1": {"source": "otel", "actor": None, "dst_names": None}}, entity_href)
    root = parse(svg)
    assert_accessible(root)
    assert [t.text for t in root.iter(f"{SVG}text")] == ["No entities in this incident's evidence"]
