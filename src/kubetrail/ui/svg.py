"""An incident drawn as SVG on the server: its story in lanes, one per source family, and the
graph of who and what its evidence touched. Pure functions that return the markup as `str`, to
be embedded inline in a page.

Every text and attribute value is escaped (`html.escape(..., quote=True)`): event fields may hold
markup. The page's Content-Security-Policy forbids inline scripts, `style=` attributes and event
handlers, so there are none: the look comes from the page's CSS, through these class names
(presentation attributes such as `text-anchor` and `rx` are used for geometry only).

`lanes`:
  `lane-row lane-{audit,runtime,network,trace,other}`  a <g> per lane holding its steps
  `lane`            the lane's rectangle
  `lane-label`      the lane's name at its left
  `step step-{source}` a step's circle (source made safe for a class name: `step-k8s_audit`,
                    `step-falco`, `step-tetragon`, `step-hubble`, `step-otel`, `step-inventory`, …)
  `initiator`       added to the first step's circle
  `start-label`     the text "start" above the first step
  `axis`, `tick`    the time axis (a <g> with a <line>) and each tick (a <g> with <line> and <text>)

`graph`:
  `column-label lane-label` the heading of a column (who, pod, process, destination)
  `edge`            a link between two entities (a <path>)
  `node node-{actor,pod,process,destination}` an entity (a <g> with <title>, <rect>, <text>)
  `node-more`       added to a column's final "+N more" node
  `node-label`      an entity's text
  `empty node-label` the text of a graph without entities
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from kubetrail.timeutil import NS, TimeError, format_ns, parse_rfc3339

SVG_NS: Final = "http://www.w3.org/2000/svg"
MIN_WIDTH: Final = 320

# -- lanes ---------------------------------------------------------------------------------------
LANES: Final = (("audit", ("k8s_audit",)), ("runtime", ("falco", "tetragon")), ("network", ("hubble",)), ("trace", ("otel",)))
OTHER: Final = "other"
LANE_OF: Final = {source: name for name, sources in LANES for source in sources}
LANE_H: Final = 40
LABEL_W: Final = 90  # the lane labels' room at the left
PAD: Final = 16
TOP: Final = 20  # room for the "start" label above the first lane
AXIS_H: Final = 32
RADIUS: Final = 6
TICKS: Final = 5
JITTER: Final = (0, -7, 7, -13, 13)  # vertical offsets of steps that would sit on one another

# -- graph ---------------------------------------------------------------------------------------
KINDS: Final = ("actor", "pod", "process", "destination")
HEADINGS: Final = {"actor": "who", "pod": "pod", "process": "process", "destination": "destination"}
MAX_NODES: Final = 12
LABEL_CHARS: Final = 40
CHAR_W: Final = 6.5  # a 12px character's mean width, to keep a label inside its box
NODE_H: Final = 28
NODE_GAP: Final = 10
COL_PAD: Final = 12
HEAD_H: Final = 28


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _n(x: float) -> str:
    """A coordinate: one decimal at most."""
    return f"{x:.1f}".removesuffix(".0")


def _class_part(text: object) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(text)) or "unknown"


def _plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else words or word + 's'}"


def _root(width: int, height: float, title_id: str, title: str, body: Iterable[str]) -> str:
    return (
        f'<svg xmlns="{SVG_NS}" viewBox="0 0 {width} {_n(height)}" width="100%" role="img" aria-labelledby="{title_id}">'
        f'<title id="{title_id}">{_e(title)}</title>{"".join(body)}</svg>'
    )


# -- the story in lanes --------------------------------------------------------------------------
def lanes(steps: Sequence[Mapping[str, Any]], href: Callable[[str], str], *, width: int = 960) -> str:
    """The steps on a time axis, one lane per source family (audit, runtime, network, trace, and
    other when a step is of another source); each step a link to `href(step id)`."""
    width = max(width, MIN_WIDTH)
    names = [name for name, _ in LANES] + ([OTHER] if any(_lane(s) == OTHER for s in steps) else [])
    times = [_ns(s.get("time")) for s in steps]
    known = [t for t in times if t is not None]
    scale = _Scale(min(known, default=0), max(known, default=0), LABEL_W + PAD, width - PAD)
    marks = _marks(steps, times, names, scale, href)
    rows = [_lane_row(i, name, width, marks.get(name, [])) for i, name in enumerate(names)]
    axis = _axis(scale, TOP + LANE_H * len(names)) if known else ""
    title = f"Incident timeline: {_plural(len(steps), 'step')} over {len(names)} lanes"
    return _root(width, TOP + LANE_H * len(names) + AXIS_H, "kt-lanes-title", title, [*rows, axis])


@dataclass(frozen=True)
class _Scale:
    lo: int
    hi: int
    x0: float
    x1: float

    def x(self, ns: int) -> float:
        if self.hi <= self.lo:
            return (self.x0 + self.x1) / 2
        return self.x0 + (ns - self.lo) * (self.x1 - self.x0) / (self.hi - self.lo)


def _ns(value: object) -> int | None:
    try:
        return parse_rfc3339(str(value))
    except TimeError:
        return None


def _lane(step: Mapping[str, Any]) -> str:
    return LANE_OF.get(str(step.get("source")), OTHER)


def _lane_y(index: int) -> float:
    """The middle of lane `index`."""
    return TOP + index * LANE_H + LANE_H / 2


def _lane_row(index: int, name: str, width: int, marks: list[str]) -> str:
    top = TOP + index * LANE_H
    return (
        f'<g class="lane-row lane-{name}">'
        f'<rect class="lane" x="{LABEL_W}" y="{top}" width="{width - LABEL_W - 4}" height="{LANE_H}" rx="4"/>'
        f'<text class="lane-label" x="8" y="{_n(_lane_y(index) + 4)}">{name}</text>{"".join(marks)}</g>'
    )


def _marks(
    steps: Sequence[Mapping[str, Any]], times: list[int | None], names: list[str], scale: _Scale, href: Callable[[str], str]
) -> dict[str, list[str]]:
    """Each step's link and circle, by lane; steps that would cover one another are set apart."""
    out: dict[str, list[str]] = {}
    taken: dict[tuple[str, int], int] = {}
    for i, (step, ns) in enumerate(zip(steps, times, strict=True)):
        lane = _lane(step)
        x = scale.x(scale.lo if ns is None else ns)
        k = taken.get((lane, round(x / RADIUS)), 0)
        taken[lane, round(x / RADIUS)] = k + 1
        x += (k // len(JITTER)) * RADIUS
        y = _lane_y(names.index(lane)) + JITTER[k % len(JITTER)]
        out.setdefault(lane, []).append(_mark(step, x, y, href, initiator=i == 0))
    return out


def _mark(step: Mapping[str, Any], x: float, y: float, href: Callable[[str], str], *, initiator: bool) -> str:
    classes = f"step step-{_class_part(step.get('source'))}" + (" initiator" if initiator else "")
    tip = f"{step.get('time', '')} — {step.get('summary', '')}"
    circle = f'<circle class="{classes}" cx="{_n(x)}" cy="{_n(y)}" r="{RADIUS}"><title>{_e(tip)}</title></circle>'
    start = (
        f'<text class="start-label" x="{_n(x)}" y="{_n(y - RADIUS - 4)}" text-anchor="middle">start</text>' if initiator else ""
    )
    return f'{start}<a href="{_e(href(str(step.get("id", ""))))}">{circle}</a>'


def _axis(scale: _Scale, y: float) -> str:
    ticks = [scale.lo] if scale.hi <= scale.lo else [scale.lo + (scale.hi - scale.lo) * i // (TICKS - 1) for i in range(TICKS)]
    parts = [f'<g class="axis"><line x1="{_n(scale.x0)}" y1="{_n(y)}" x2="{_n(scale.x1)}" y2="{_n(y)}"/>']
    for i, ns in enumerate(ticks):
        x = _n(scale.x(ns))
        anchor = "middle" if len(ticks) == 1 else "start" if i == 0 else "end" if i == len(ticks) - 1 else "middle"
        parts.append(
            f'<g class="tick"><line x1="{x}" y1="{_n(y)}" x2="{x}" y2="{_n(y + 4)}"/>'
            f'<text x="{x}" y="{_n(y + 17)}" text-anchor="{anchor}">{_tick_label(ns, scale.lo, scale.hi)}</text></g>'
        )
    return "".join(parts) + "</g>"


def _tick_label(ns: int, lo: int, hi: int) -> str:
    """UTC HH:MM:SS; with milliseconds over a span of a few seconds, with the date across days."""
    text = format_ns(ns)
    clock = text[11:23] if 0 < hi - lo < 5 * NS else text[11:19]
    return f"{text[:10]} {clock}" if format_ns(lo)[:10] != format_ns(hi)[:10] else clock


# -- the entity graph ----------------------------------------------------------------------------
Node = tuple[str, str]  # (kind, value)


@dataclass
class _Entities:
    """The graph's columns in order of appearance, its edges, and the names under which a node
    is known (a destination by its host and address too, so the incident's list adds no twin)."""

    columns: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    edges: dict[tuple[Node, Node], None] = field(default_factory=dict)
    known: dict[Node, str] = field(default_factory=dict)

    def add(self, kind: str, value: str | None, aliases: Iterable[str] = ()) -> Node | None:
        if value is None:
            return None
        if (kind, value) not in self.known:
            self.columns[kind].append(value)
            self.known[kind, value] = value
        found = self.known[kind, value]
        for alias in aliases:
            self.known.setdefault((kind, alias), found)
        return kind, found

    def link(self, a: Node | None, b: Node | None) -> None:
        if a is not None and b is not None:
            self.edges[a, b] = None

    @property
    def empty(self) -> bool:
        return not any(self.columns.values())


def graph(
    incident: Mapping[str, Any],
    events: Mapping[str, Mapping[str, Any]],
    href: Callable[[str, str], str | None],
    *,
    width: int = 960,
) -> str:
    """Who (actor) → pod → process → destination, from the fields of the incident's step events
    and its lists of actors, pods and destinations; an entity is a link to `href(kind, value)`
    when that gives one."""
    width = max(width, MIN_WIDTH)
    found = _entities(incident, events)
    if found.empty:
        empty = _e("No entities in this incident's evidence")
        text = f'<text class="empty node-label" x="{width // 2}" y="24" text-anchor="middle">{empty}</text>'
        return _root(width, 40, "kt-graph-title", "Entity graph: no entities", [text])
    col_w = width / len(KINDS)
    spots: dict[Node, tuple[float, float]] = {}
    nodes: list[str] = []
    for c, kind in enumerate(KINDS):
        nodes += _column(kind, found.columns[kind], c * col_w + COL_PAD, col_w - 2 * COL_PAD, href, spots)
    edges = [_edge(spots[a], spots[b], col_w - 2 * COL_PAD) for a, b in found.edges if a in spots and b in spots]
    rows = max(min(len(values), MAX_NODES) + (len(values) > MAX_NODES) for values in found.columns.values())
    heads = [
        f'<text class="column-label lane-label" x="{_n(c * col_w + COL_PAD)}" y="18">{HEADINGS[kind]}</text>'
        for c, kind in enumerate(KINDS)
    ]
    count = sum(map(len, found.columns.values()))
    title = f"Entity graph: {_plural(count, 'entity', 'entities')} and {_plural(len(found.edges), 'link')}"
    return _root(width, HEAD_H + rows * (NODE_H + NODE_GAP) + NODE_GAP, "kt-graph-title", title, [*heads, *edges, *nodes])


def _entities(incident: Mapping[str, Any], events: Mapping[str, Mapping[str, Any]]) -> _Entities:
    found = _Entities()
    ids = [str(s.get("id")) for s in incident.get("steps") or ()]
    seen = set(ids)
    for event_id in [*(i for i in ids if i in events), *(i for i in events if i not in seen)]:
        _add_event(found, events[event_id])
    for kind, key in (("actor", "actors"), ("pod", "pods"), ("destination", "destinations")):
        for value in incident.get(key) or ():
            found.add(kind, _text(value))
    return found


EVENT_FIELDS: Final = ("actor", "pod_name", "namespace", "binary", "dst_names", "dst_ip", "dns_query", "dst_port")


def _add_event(found: _Entities, event: Mapping[str, Any]) -> None:  # reads EVENT_FIELDS
    actor = found.add("actor", _text(event.get("actor")))
    pod = found.add("pod", _pod(event))
    process = found.add("process", _text(event.get("binary")))
    where = _destination(event)
    destination = found.add("destination", *where) if where else None
    found.link(actor, pod)
    found.link(pod, process)
    found.link(process, destination)
    if process is None:
        found.link(pod, destination)


def _text(value: object) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _pod(event: Mapping[str, Any]) -> str | None:
    name = _text(event.get("pod_name"))
    namespace = _text(event.get("namespace"))
    return f"{namespace}/{name}" if name and namespace else name


def _destination(event: Mapping[str, Any]) -> tuple[str, list[str]] | None:
    """'evil.example:443', and the host and address it is also known by."""
    names = [n for n in (_text(v) for v in event.get("dst_names") or ()) if n]
    ip = _text(event.get("dst_ip"))
    host = _text(event.get("dns_query")) or (names[0] if names else None) or ip
    if host is None:
        return None
    port = _text(event.get("dst_port"))
    value = host if port is None else f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return value, [host, *names, *([ip] if ip else [])]


def _column(
    kind: str,
    values: list[str],
    x: float,
    node_w: float,
    href: Callable[[str, str], str | None],
    spots: dict[Node, tuple[float, float]],
) -> list[str]:
    """A column's nodes, the first MAX_NODES and a '+N more'; where each was put, into `spots`."""
    out = []
    for row, value in enumerate(values[:MAX_NODES]):
        y = HEAD_H + row * (NODE_H + NODE_GAP)
        spots[kind, value] = (x, y)
        node = _node(f"node node-{kind}", value, _truncate(value, node_w), x, y, node_w)
        url = href(kind, value)
        out.append(f'<a href="{_e(url)}">{node}</a>' if url else node)
    if len(values) > MAX_NODES:
        more = len(values) - MAX_NODES
        y = HEAD_H + MAX_NODES * (NODE_H + NODE_GAP)
        out.append(_node(f"node node-{kind} node-more", f"{more} more not shown", f"+{more} more", x, y, node_w))
    return out


def _node(classes: str, full: str, label: str, x: float, y: float, node_w: float) -> str:
    return (
        f'<g class="{classes}"><title>{_e(full)}</title>'
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(node_w)}" height="{NODE_H}" rx="6"/>'
        f'<text class="node-label" x="{_n(x + 8)}" y="{_n(y + NODE_H / 2 + 4)}">{_e(label)}</text></g>'
    )


def _truncate(text: str, node_w: float) -> str:
    limit = max(8, min(LABEL_CHARS, int((node_w - 16) / CHAR_W)))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _edge(a: tuple[float, float], b: tuple[float, float], node_w: float) -> str:
    x1, y1 = a[0] + node_w, a[1] + NODE_H / 2
    x2, y2 = b[0], b[1] + NODE_H / 2
    mid = (x1 + x2) / 2
    return f'<path class="edge" d="M{_n(x1)},{_n(y1)} C{_n(mid)},{_n(y1)} {_n(mid)},{_n(y2)} {_n(x2)},{_n(y2)}"/>'
