"""`kubetrail serve` under load. A load generator in its own process replays a simulated cluster's
telemetry in the producers' wire formats, at a target rate, over keep-alive connections, into a
`kubetrail serve` on this machine; then the server is stopped (SIGTERM drains its spool) and
every acknowledged event is looked for in the store.

    python -m bench.serve [--rate 5000] [--seconds 600] [--connections 8] [--record]
    python -m bench.serve --burst [--rate 5000] [--record]
    python -m bench.serve --find-max [--rate 5000] [--seconds 60]

The senders, one per producer, each at its share of the simulated events (kubetrail.simulate):
- k8s_audit: audit.log's events as the kube-apiserver's webhook backend sends them in batch mode,
  an EventList of up to 400 events or what 1 s brings, to /v1/audit;
- falco: one alert per request to /v1/falco, as Falco's http_output sends them;
- hubble, tetragon: NDJSON to /v1/ingest?source=NAME, gzip, up to 1,000 lines or 1 s, as Fluent
  Bit's http output (json_lines) and Vector's http sink send them;
- otel: the requests' spans batched as the Collector's batch processor does (8,192 spans or
  200 ms), OTLP/HTTP protobuf to /v1/traces (`--otlp json`: OTLP/JSON).
A request answered 429 or 503 is sent again after its Retry-After, as the real senders do. The
bodies are made before the clock starts, so that the generator's CPU during the run is its HTTP.

Measured: events/s acknowledged (overall and per 10 s window), request-to-2xx latency (from its
first send to its acknowledgement, retries included), the server's VmRSS, its drain backlog
(/readyz) and the CPU of the server (with its normalizing workers) and of the generator, every second; the time SIGTERM takes to
drain and stop the server. Then the acknowledged records are ingested from files by `kubetrail
ingest` (the baseline, same run: its events/s and CPU per event) and the two stores are compared
event id by event id: every acknowledged event stored exactly once.

`--burst`: 30 s at 10x the rate (or as fast as the generator sends), 32 connections, the spool's
high-water mark at one drain group (8 MiB), so that backpressure engages; the server's peak RSS (VmHWM) against
the bound its limits give. `--find-max`: runs of `--seconds` each, the rate stepped up by 25 %
until a run does not hold (p99 > 1 s, fewer events acknowledged than sent, or a drain that falls
behind). `--record` puts the result at the top of bench/RESULTS.md. Simulated inputs are cached
under bench/data/ (bench/inputs.py), in whole millions of events.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import gzip
import heapq
import itertools
import math
import os
import re
import resource
import secrets
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any, Final

import httpx
import msgspec
import orjson

from bench import report
from bench.child import say
from bench.inputs import CLUSTER, DATA, cluster
from bench.measure import byte_compiled, percentile
from kubetrail.api.held import read_held
from kubetrail.serve.config import Limits
from kubetrail.serve.pipeline import DRAIN_AHEAD, GROUP_BYTES
from kubetrail.simulate import stories
from kubetrail.simulate.run import AUDIT_LOG, OUTPUTS, SPANS_PER_REQUEST
from kubetrail.store.duckdb import MEMORY_LIMIT
from kubetrail.timeutil import parse_rfc3339

ROOT: Final = Path(__file__).resolve().parents[1]
RATE: Final = 5_000.0  # events/s
SECONDS: Final = 600.0
CONNECTIONS: Final = 8
TARGET_P99: Final = 1.0  # seconds from a request to its 2xx
HELD_SHARE: Final = 0.98  # of the events sent that must be acknowledged within the run
WINDOW: Final = 10.0  # seconds per window of the acknowledged rate
SAMPLE_SECONDS: Final = 1.0
STORE_MEMORY: Final = "kubetrail_store_memory_bytes{"  # its samples in /metrics
RSS_FLAT: Final = 1 << 20  # bytes per minute of growth over the second half that still count as flat
DRAIN_SLACK: Final = 0.02  # the backlog may grow by this share of the bytes/s received and still keep up
BURST_FACTOR: Final = 10
BURST_SECONDS: Final = 30.0
BURST_CONNECTIONS: Final = 32  # over one sender's in-flight limit (16): 429s engage too
# One drain group: a burst at 10x 5,000 events/s kept the backlog under 12.4 MiB (the receivers
# saturate first), so a high-water mark of 64 MiB never engaged (bench/RESULTS.md, 2026-12-05).
BURST_HIGH_WATER: Final = GROUP_BYTES
STEP_UP: Final = 1.25
STEP_SECONDS: Final = 60.0  # per --find-max step
MAX_STEPS: Final = 10
LATE_SECONDS: Final = 1.0  # requests due in the run are sent at most this long after its end
MIN_HALF_SAMPLES: Final = 30  # a trend needs this many samples in the second half
GIVE_UP_SECONDS: Final = 300.0  # a request still refused after this long is failed
TIMEOUT: Final = httpx.Timeout(60.0, connect=5.0)
STOP_SECONDS: Final = 900.0  # SIGTERM to exit at most, or the server is killed
# One drain group (GROUP_BYTES of spool) held as bodies, parsed records, events and Arrow: one
# LiveWriter.write of 8 MiB of each simulated source took 105-135 MiB over the writer's idle RSS
# (2026-12-05), DuckDB's part of the write included (counted again in the bound as its limit).
DRAIN_GROUP_FACTOR: Final = 16
_TICK: Final = os.sysconf("SC_CLK_TCK")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B)\s*$", re.IGNORECASE)


# -- the wire formats ----------------------------------------------------------------------------
Encode = Callable[[list[bytes]], tuple[bytes, int]]  # lines of the file -> (body, records in it)


def event_list(lines: list[bytes]) -> tuple[bytes, int]:
    """What the kube-apiserver's webhook backend POSTs: an audit.k8s.io/v1 EventList."""
    items = b",".join(line.rstrip() for line in lines)
    return b'{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[' + items + b"]}", len(lines)


def ndjson_gzip(lines: list[bytes]) -> tuple[bytes, int]:
    """NDJSON, gzip at zlib's default level (as Fluent Bit and Vector compress)."""
    return gzip.compress(b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines), 6), len(lines)


def one_alert(lines: list[bytes]) -> tuple[bytes, int]:
    (line,) = lines
    return line.rstrip(), 1


def otlp_json(lines: list[bytes]) -> tuple[bytes, int]:
    value = _merged(lines)
    return orjson.dumps(value), _spans(value)


def otlp_protobuf(lines: list[bytes]) -> tuple[bytes, int]:
    """The requests' spans in one ExportTraceServiceRequest, as a Collector's otlphttp exporter
    sends them (ids, hex in OTLP/JSON, as bytes)."""
    from google.protobuf.json_format import ParseDict
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    value = _merged(lines)
    for group in value["resourceSpans"]:
        for scope in group.get("scopeSpans", ()):
            for span in scope.get("spans", ()):
                _ids_as_bytes(span)
                for link in span.get("links", ()):
                    _ids_as_bytes(link)
    message = ExportTraceServiceRequest()
    ParseDict(value, message)
    return bytes(message.SerializeToString()), _spans(value)


def _merged(lines: list[bytes]) -> dict[str, Any]:
    return {"resourceSpans": [group for line in lines for group in orjson.loads(line)["resourceSpans"]]}


def _spans(value: dict[str, Any]) -> int:
    return sum(len(s.get("spans", ())) for g in value["resourceSpans"] for s in g.get("scopeSpans", ()))


def _ids_as_bytes(item: dict[str, Any]) -> None:
    """OTLP/JSON's hex ids as proto3 JSON writes bytes (base64)."""
    for key in ("traceId", "spanId", "parentSpanId"):
        if item.get(key):
            item[key] = base64.b64encode(bytes.fromhex(item[key])).decode()


@dataclass(frozen=True)
class Wire:
    """How one producer sends its records: where to, in batches of how many, encoded how."""

    source: str
    file: str  # the simulated file it replays
    path: str
    content_type: str
    encode: Encode
    max_records: int  # a request carries at most this many records (OTLP: spans) ...
    linger: float  # ... or those of this many seconds, whichever are fewer
    producer: str  # what sends like this, for the report
    gzip: bool = False
    records_per_line: int = 1

    def headers(self) -> dict[str, str]:
        return {"content-type": self.content_type} | ({"content-encoding": "gzip"} if self.gzip else {})

    def lines_per_request(self, rate: float) -> int:
        """At `rate` records/s, a batch is full or its time is up: whichever comes first."""
        records = min(self.max_records, max(1, round(rate * self.linger)))
        return max(1, records // self.records_per_line)


WIRES: Final = (
    Wire("k8s_audit", AUDIT_LOG, "/v1/audit", "application/json", event_list, 400, 1.0,
         "EventLists of ≤ 400 events or 1 s (apiserver webhook, batch mode)"),
    Wire("hubble", "hubble-flows.json", "/v1/ingest?source=hubble", "application/x-ndjson", ndjson_gzip, 1000, 1.0,
         "NDJSON gzip, ≤ 1,000 lines or 1 s (Fluent Bit, Vector)", gzip=True),
    Wire("tetragon", "tetragon.jsonl", "/v1/ingest?source=tetragon", "application/x-ndjson", ndjson_gzip, 1000, 1.0,
         "NDJSON gzip, ≤ 1,000 lines or 1 s (Fluent Bit, Vector)", gzip=True),
    Wire("falco", "falco.json", "/v1/falco", "application/json", one_alert, 1, 0.0,
         "one alert per request (Falco http_output)"),
    Wire("otel", "otlp-traces.jsonl", "/v1/traces", "application/x-protobuf", otlp_protobuf, 8192, 0.2,
         "OTLP/HTTP protobuf, ≤ 8,192 spans or 200 ms (Collector batch processor)", records_per_line=SPANS_PER_REQUEST),
)  # fmt: skip


def wires(otlp: str) -> tuple[Wire, ...]:
    if otlp == "protobuf":
        return WIRES
    json_otlp = "OTLP/JSON, ≤ 8,192 spans or 200 ms (Collector batch processor)"
    return tuple(replace(w, content_type="application/json", encode=otlp_json, producer=json_otlp)
                 if w.source == "otel" else w for w in WIRES)  # fmt: skip


def shares() -> dict[str, float]:
    """Each simulated file's share of the events, as the simulator draws them."""
    total = sum(o.share for o in OUTPUTS)
    return {o.files[0]: o.share / total for o in OUTPUTS}


# -- the plan: every request's body and when it is due ----------------------------------------
@dataclass(frozen=True, slots=True)
class Request:
    due: float  # seconds after the start
    wire: int  # index in the wires
    first: int  # its first line in the wire's file (0-based)
    lines: int
    records: int
    size: int  # bytes the server spools (decoded)
    body: bytes


def plan(folder: Path, wire_set: Sequence[Wire], rate: float, seconds: float, timed: bool = False) -> list[Request]:
    """Each wire's requests due within `seconds`, merged in time order: at its share of `rate`, or
    (`timed`: a folder of in_event_time) when its lines' send times come at the run's pace."""
    if timed:
        start, speedup = orjson.loads((folder / PACE).read_bytes())
        per_wire = [_timed_requests(folder, i, w, start, speedup) for i, w in enumerate(wire_set)]
    else:
        share = shares()
        per_wire = [_wire_requests(folder, i, w, rate * share[w.file], seconds) for i, w in enumerate(wire_set)]
    return list(heapq.merge(*per_wire, key=lambda r: r.due))


def _wire_requests(folder: Path, index: int, wire: Wire, rate: float, seconds: float) -> list[Request]:
    n = wire.lines_per_request(rate)
    period = n * wire.records_per_line / rate  # a batch fills in this long
    count = max(1, int(seconds / period))
    out = []
    with open(folder / wire.file, "rb") as f:
        for k in range(count):
            lines = list(itertools.islice(f, n))
            if len(lines) < n:
                raise SystemExit(
                    f"bench.serve: {folder / wire.file} holds {k * n + len(lines):,} lines; {rate:,.0f} {wire.source} "
                    f"records/s for {seconds:g} s need {count * n:,}: give more --events (or fewer --seconds)"
                )
            body, records = wire.encode(lines)
            out.append(Request((k + 1) * period, index, k * n, n, records, sum(map(len, lines)), body))
    return out


def _timed_requests(folder: Path, index: int, wire: Wire, start: int, speedup: float) -> list[Request]:
    """A producer's batches as it sends them: full, or its linger after the batch's first line."""
    times = array("q", (folder / (wire.file + TIMES)).read_bytes())
    lines = (folder / wire.file).read_bytes().splitlines(keepends=True)
    most = max(1, wire.max_records // wire.records_per_line)
    out, first = [], 0
    while first < len(lines):
        opened = (times[first] - start) / speedup
        end = first + 1
        while end < len(lines) and end - first < most and (times[end] - start) / speedup - opened <= wire.linger:
            end += 1
        full = end - first == most
        due = (times[end - 1] - start) / speedup if full else opened + wire.linger
        body, records = wire.encode(lines[first:end])
        out.append(Request(due, index, first, end - first, records, sum(map(len, lines[first:end])), body))
        first = end
    return out


# -- replay in event time (bench.alerts) -----------------------------------------------------------
PACE: Final = "pace.json"  # [the first send time (ns), simulated seconds per second of the run]
TIMES: Final = ".times"  # beside each file: its lines' send times (int64 ns)
_SENT_AT: Final = {"k8s_audit": re.compile(rb'"stageTimestamp":"([^"]+)"'), "otel": re.compile(rb'"startTimeUnixNano":"?(\d+)')}
_TIME: Final = re.compile(rb'"time":"([^"]+)"')
# Each source's planted stories (kubetrail/simulate/stories.py). Named by the file before: the
# Hubble stories (story-hubble.json, beside hubble-flows.json) were left out of every replay.
STORY_FILES: Final = {"k8s_audit": stories.AUDIT, "hubble": stories.HUBBLE, "tetragon": stories.TETRAGON,
                      "falco": stories.FALCO, "otel": stories.OTLP}  # fmt: skip
TIMED_SLACK: Final = 2.0  # lines read per wire over its share of the run, for its density to vary


def send_time(source: str, line: bytes) -> int:
    """When the producer sends a line: the audit event's stageTimestamp (the webhook sends at the
    stage), the first span's start, the others' own time (ns)."""
    m = _SENT_AT.get(source, _TIME).search(line)
    if m is None:
        raise ValueError(f"bench.serve: no send time in a {source} line: {line[:200]!r}")
    return int(m.group(1)) if source == "otel" else parse_rfc3339(m.group(1).decode())


def in_event_time(inputs: Path, out: Path, wire_set: Sequence[Wire], rate: float, seconds: float) -> Path:
    """The simulated cluster replayed as it happened, sped up to `rate`: each wire's lines with the
    planted stories' (STORY_FILES) merged in by send time (kept in file order, each keyed by the
    latest send time so far), cut where `rate` x `seconds` records are reached. Written to `out`
    with the keys (FILE.times) and the pace (pace.json) that plan(timed=True) sends them at."""
    share = shares()
    replayed = {STORY_FILES[w.source] for w in wire_set}
    if left := sorted(p.name for p in inputs.glob("story-*") if p.name not in replayed):
        raise SystemExit(f"bench.serve: no wire replays the planted stories of {', '.join(left)}")
    keyed: dict[str, list[tuple[int, bytes]]] = {}
    short: set[str] = set()  # wires whose file ran out: they do not bound the replay
    for w in wire_set:
        need = math.ceil(rate * share[w.file] * seconds * TIMED_SLACK / w.records_per_line)
        main = list(itertools.islice(_keyed(inputs / w.file, w.source), need))
        if len(main) < need:
            short.add(w.file)
        story_file = inputs / STORY_FILES[w.source]
        story = sorted(_keyed(story_file, w.source)) if story_file.exists() else []
        keyed[w.file] = list(heapq.merge(main, story, key=lambda kv: kv[0]))
    start = min(lines[0][0] for lines in keyed.values())
    weight = {w.file: w.records_per_line for w in wire_set}
    all_keys = sorted(k for file, lines in keyed.items() for k, _ in lines for _ in range(weight[file]))
    end = all_keys[min(len(all_keys), math.ceil(rate * seconds)) - 1]
    if ends := [lines[-1][0] for file, lines in keyed.items() if file not in short and lines[-1][0] < end]:
        raise SystemExit(f"bench.serve: {inputs} runs out {(end - min(ends)) / 1e9:,.0f} simulated s early: give more --events")
    out.mkdir()
    for file, lines in keyed.items():
        kept = [kv for kv in lines if kv[0] <= end]
        (out / file).write_bytes(b"".join(line if line.endswith(b"\n") else line + b"\n" for _, line in kept))
        (out / (file + TIMES)).write_bytes(array("q", (k for k, _ in kept)).tobytes())
    (out / PACE).write_bytes(orjson.dumps([start, (end - start) / seconds]))
    return out


def _keyed(path: Path, source: str) -> Iterator[tuple[int, bytes]]:
    latest = 0
    with open(path, "rb") as f:
        for line in f:
            latest = max(latest, send_time(source, line))
            yield latest, line


def events_needed(rate: float, seconds: float) -> int:
    """Simulated events enough for `rate` over `seconds`, in whole millions (cached inputs are reused)."""
    return max(1, math.ceil(rate * seconds * 1.02 / 1e6)) * 1_000_000


# -- the load generator (its own process) ------------------------------------------------------
class Spec(msgspec.Struct, frozen=True):
    url: str
    token_file: str
    folder: str
    rate: float
    seconds: float
    connections: int
    otlp: str
    out: str
    timed: bool = False


class Sent(msgspec.Struct, array_like=True):
    """What became of one request. Times in seconds after the start (the warm-up's before it)."""

    wire: int
    first: int
    lines: int
    records: int
    size: int
    due: float
    sent: float  # first attempt
    acked: float  # its 2xx; NaN when it never had one
    attempts: int
    status: int  # the last answer's (0: no answer)
    warmup: bool

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Generated(msgspec.Struct):
    start: float  # time.monotonic() at the start (the same clock in every process)
    done: float
    prepare_seconds: float
    scheduled: int  # requests of the plan after the warm-up
    scheduled_records: int
    requests: list[Sent]
    retries: dict[str, int]  # by answer: "429", "503", "transport error"


def generate(spec: Spec) -> None:
    """Make every body, warm the server with one request per wire, then send the rest on time."""
    started = time.perf_counter()
    requests = plan(Path(spec.folder), wires(spec.otlp), spec.rate, spec.seconds, spec.timed)
    gc.freeze()  # the bodies stay to the end: no collection need look at them again
    prepared = time.perf_counter() - started
    say({"ready": prepared, "requests": len(requests)})
    result = asyncio.run(_generate(spec, requests, prepared))
    Path(spec.out).write_bytes(msgspec.json.encode(result))


async def _generate(spec: Spec, requests: list[Request], prepared: float) -> Generated:
    token = Path(spec.token_file).read_text().strip()
    limits = httpx.Limits(max_connections=spec.connections, max_keepalive_connections=spec.connections)
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=spec.url, headers=headers, limits=limits, timeout=TIMEOUT, trust_env=False) as client:
        sender = _Sender(client, wires(spec.otlp))
        warm = {r.wire: r for r in reversed(requests)}  # each wire's first request
        loop = asyncio.get_running_loop()
        for r in sorted(warm.values(), key=lambda r: r.wire):
            sender.outcomes.append(await sender.send(r, warmup=True))
        await _drained(client)
        rest = [r for r in requests if warm[r.wire] is not r]
        start = loop.time()
        say({"start": start})
        queue: asyncio.Queue[Request | None] = asyncio.Queue(maxsize=spec.connections)
        workers = [asyncio.create_task(sender.work(queue)) for _ in range(spec.connections)]
        await _schedule(rest, queue, start, spec.seconds)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
        done = loop.time()
    say({"done": done})
    for outcome in sender.outcomes:  # times after the start (the warm-up's before it)
        outcome.sent, outcome.acked = outcome.sent - start, outcome.acked - start
    return Generated(start, done, prepared, len(rest), sum(r.records for r in rest), sender.outcomes, dict(sender.retries))


async def _schedule(requests: list[Request], queue: asyncio.Queue[Request | None], start: float, seconds: float) -> None:
    """Each request to a free connection when it is due; none once the run is over by more than
    LATE_SECONDS (a generator behind its schedule does not send the rest)."""
    loop = asyncio.get_running_loop()
    for r in requests:
        wait = start + r.due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        if loop.time() - start > seconds + LATE_SECONDS:
            return
        await queue.put(r)


async def _drained(client: httpx.AsyncClient) -> None:
    """Wait until the server has written its spool into the store."""
    loop = asyncio.get_running_loop()
    until = loop.time() + 120
    while loop.time() < until:
        if (await client.get("/readyz")).json()["backlog_bytes"] == 0:
            return
        await asyncio.sleep(0.05)
    raise SystemExit("bench.serve: the server did not write the warm-up requests into its store within 120 s")


class _Sender:
    def __init__(self, client: httpx.AsyncClient, wire_set: Sequence[Wire]) -> None:
        self.client, self.wires = client, wire_set
        self.headers = [w.headers() for w in wire_set]
        self.outcomes: list[Sent] = []
        self.retries: Counter[str] = Counter()

    async def work(self, queue: asyncio.Queue[Request | None]) -> None:
        while (r := await queue.get()) is not None:
            self.outcomes.append(await self.send(r))

    async def send(self, r: Request, *, warmup: bool = False) -> Sent:
        """Send until a 2xx; after a 429 or 503, again after its Retry-After."""
        loop = asyncio.get_running_loop()
        sent, attempts, status = loop.time(), 0, 0
        while True:
            attempts += 1
            delay = await self._attempt(r)
            status = delay if isinstance(delay, int) else 0
            if isinstance(delay, int) or loop.time() - sent + delay > GIVE_UP_SECONDS:
                break
            await asyncio.sleep(delay)
        acked = loop.time() if 200 <= status < 300 else math.nan
        return Sent(r.wire, r.first, r.lines, r.records, r.size, r.due, sent, acked, attempts, status, warmup)

    async def _attempt(self, r: Request) -> int | float:
        """The final status (int), or how long to wait before sending again (float)."""
        try:
            response = await self.client.post(self.wires[r.wire].path, content=r.body, headers=self.headers[r.wire])
        except httpx.TransportError:
            self.retries["transport error"] += 1
            return 1.0
        if response.status_code not in (429, 503):
            return response.status_code
        self.retries[str(response.status_code)] += 1
        return float(response.headers.get("retry-after", "1"))


# -- the server and what is sampled of it --------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    t: float  # seconds after the start
    rss: int  # VmRSS of the server and its workers, bytes
    hwm: int  # VmHWM: the sum of their peak RSS so far
    server_cpu: float  # CPU seconds of the server and its workers since they started
    generator_cpu: float
    backlog: int | None  # spool bytes not yet in the store (/readyz); None: no answer
    store_memory: int | None = None  # the store engine's own memory in the server (/metrics); None: no answer


def proc_tree(pid: int) -> list[int]:
    """A process and its descendants (the server's normalizing workers), from /proc."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children", "rb") as f:
                    todo.extend(int(c) for c in f.read().split())
    return out


def tree_cpu_rss(pid: int, cpu_seen: dict[int, float]) -> tuple[float, int, int]:
    """CPU seconds, VmRSS and VmHWM summed over a process and its descendants. `cpu_seen` keeps
    each one's last CPU reading, so that the CPU of a worker that exited still counts."""
    cpu_seen[pid] = proc_cpu(pid)
    rss, hwm = proc_rss(pid)
    for child in proc_tree(pid)[1:]:
        with contextlib.suppress(OSError, KeyError, IndexError):
            c, (r, h) = proc_cpu(child), proc_rss(child)
            cpu_seen[child] = c
            rss, hwm = rss + r, hwm + h
    return sum(cpu_seen.values()), rss, hwm


def proc_cpu(pid: int) -> float:
    """utime + stime of a process, in seconds (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def proc_rss(pid: int) -> tuple[int, int]:
    """VmRSS and VmHWM of a process, in bytes (/proc/PID/status)."""
    values = {}
    with open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            if line.startswith((b"VmRSS:", b"VmHWM:")):
                values[line[:5]] = int(line.split()[1]) * 1024
    return values[b"VmRSS"], values[b"VmHWM"]


class Sampler:
    """Samples the server and the generator every second in a thread, from the start on, until
    the server is gone."""

    def __init__(self, server: int, generator: int, url: str, token: str, start: float) -> None:
        self.server, self.generator, self.start = server, generator, start
        self.samples: list[Sample] = []
        self._http = httpx.Client(base_url=url, timeout=5.0, trust_env=False)
        self._auth = {"authorization": f"Bearer {token}"}
        self._generator_cpu = 0.0
        self._cpu_seen: dict[int, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start_sampling(self) -> Sampler:
        self._thread.start()
        return self

    def close(self) -> None:
        self._done.set()
        self._thread.join()
        self._http.close()

    def sample(self) -> bool:
        """One sample now; False once the server is gone."""
        t = time.monotonic() - self.start
        try:
            cpu, rss, hwm = tree_cpu_rss(self.server, self._cpu_seen)
        except (OSError, KeyError, IndexError):
            return False
        with contextlib.suppress(OSError):  # once the generator has exited, its last reading stands
            self._generator_cpu = proc_cpu(self.generator)
        self.samples.append(Sample(t, rss, hwm, cpu, self._generator_cpu, self._backlog(), self._store_memory()))
        return True

    def _backlog(self) -> int | None:
        try:
            return int(self._http.get("/readyz").json()["backlog_bytes"])
        except (httpx.HTTPError, ValueError, KeyError):
            return None

    def _store_memory(self) -> int | None:
        """kubetrail_store_memory_bytes summed over what it holds: how much of the RSS is the
        store's buffer pool, bounded by its memory limit, rather than growth."""
        try:
            text = self._http.get("/metrics", headers=self._auth).raise_for_status().text
        except httpx.HTTPError:
            return None
        return sum(int(float(line.rpartition(" ")[2])) for line in text.splitlines() if line.startswith(STORE_MEMORY))

    def _run(self) -> None:
        for tick in itertools.count():
            if not self.sample():
                return
            if self._done.wait(max(0.0, self.start + (tick + 1) * SAMPLE_SECONDS - time.monotonic())):
                return


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    db: Path
    log: Path

    @classmethod
    def start(cls, folder: Path, token_file: Path, config: Path | None) -> Server:
        db = (folder / "serve.duckdb").resolve()
        log = folder / "serve.log"
        cmd = [sys.executable, "-m", "kubetrail", "serve", "--db", str(db), "--listen", "127.0.0.1:0",
               "--token-file", str(token_file), "--cluster", CLUSTER, *(["--config", str(config)] if config else [])]  # fmt: skip
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        until = time.monotonic() + 60
        while (held := read_held(str(db))) is None or held.pid != proc.pid:
            if proc.poll() is not None or time.monotonic() > until:
                proc.kill()
                raise SystemExit(f"bench.serve: kubetrail serve did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.05)
        return cls(proc, held.url, db, log)

    def stop(self) -> tuple[float, int, float]:
        """SIGTERM, then wait until it has drained its spool and exited: (seconds, exit status,
        CPU seconds over its life)."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        while time.monotonic() - start < STOP_SECONDS:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                return time.monotonic() - start, self.proc.returncode, usage.ru_utime + usage.ru_stime
            time.sleep(0.02)
        self.proc.kill()
        raise SystemExit(f"bench.serve: kubetrail serve did not stop within {STOP_SECONDS:g} s of SIGTERM")


# -- one run ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    rate: float = RATE
    seconds: float = SECONDS
    connections: int = CONNECTIONS
    high_water: int | None = None  # limits.spool_high_water for the server (None: its default)
    otlp: str = "protobuf"
    seed: int = 7
    events: int = 0  # simulated events; 0: enough for rate x seconds, in whole millions
    data: Path = DATA
    timed: bool = False  # replay in event time (in_event_time), the stories merged in

    @property
    def limits(self) -> Limits:
        return Limits() if self.high_water is None else replace(Limits(), spool_high_water=self.high_water)


@dataclass(frozen=True)
class Stored:
    """One source's acknowledged events against the store's."""

    source: str
    records: int  # acknowledged records (OTLP: spans)
    expected: int  # their distinct events: what `kubetrail ingest` of the same records stored
    stored: int
    missing: int  # expected, not stored
    extra: int  # stored, not expected
    repeated: int  # stored more than once


@dataclass(frozen=True)
class Baseline:
    """`kubetrail ingest` of the acknowledged records, from files, in a child process."""

    seconds: float
    cpu: float  # of the process and its workers
    events: int  # stored

    @property
    def rate(self) -> float:
        return self.events / self.seconds


@dataclass
class Run:
    config: Config
    inputs: Path
    wires: tuple[Wire, ...]
    gen: Generated
    samples: list[Sample]
    stop_seconds: float
    exit_status: int
    server_cpu: float  # over its life, from wait4
    stored: list[Stored] = field(default_factory=list)
    quarantined: int = 0
    simulated: str = ""  # the simulated cluster's folder (inputs is its replay when timed)
    baseline: Baseline | None = None

    # -- the requests
    @property
    def measured(self) -> list[Sent]:
        return [s for s in self.gen.requests if not s.warmup]

    @property
    def acked(self) -> list[Sent]:
        return [s for s in self.measured if s.ok]

    def latencies(self, wire: int | None = None) -> list[float]:
        return [s.acked - s.sent for s in self.acked if wire is None or s.wire == wire]

    def p(self, q: int, wire: int | None = None) -> float:
        values = self.latencies(wire)
        return percentile(values, q) if values else math.nan

    @property
    def sent_records(self) -> int:
        return sum(s.records for s in self.measured)

    @property
    def ack_rate(self) -> float:
        """Events acknowledged per second, from the start to the last acknowledgement (or the run's end)."""
        last = max((s.acked for s in self.acked), default=0.0)
        return sum(s.records for s in self.acked) / max(self.config.seconds, last)

    @property
    def scheduled_rate(self) -> float:
        return self.gen.scheduled_records / self.config.seconds

    def windows(self) -> list[float]:
        """Events/s acknowledged in each whole window of the run (the whole run when shorter),
        after the first when there are three or more: in the first, not every sender's first
        batch has come due."""
        width = min(WINDOW, self.config.seconds)
        counts = [0] * max(1, int(self.config.seconds / width))
        for s in self.acked:
            k = int(s.acked // width)
            if 0 <= k < len(counts):
                counts[k] += s.records
        return [c / width for c in (counts[1:] if len(counts) >= 3 else counts)]

    @property
    def lag_p99(self) -> float:
        """How late the generator sent (p99 of first send - due): it shares the cores."""
        return percentile([s.sent - s.due for s in self.measured], 99) if self.measured else math.nan

    @property
    def failed(self) -> int:
        return len(self.measured) - len(self.acked)

    # -- the samples
    @property
    def during(self) -> list[Sample]:
        """Samples from the start to the generator's end."""
        return [s for s in self.samples if s.t <= self.gen.done - self.gen.start + SAMPLE_SECONDS / 2]

    def cpu_rate(self, of: Callable[[Sample], float]) -> float:
        first, last = self.during[0], self.during[-1]
        return (of(last) - of(first)) / (last.t - first.t) if last.t > first.t else math.nan

    def second_half_slope(self, of: Callable[[Sample], float | None]) -> float:
        """Bytes per minute, least squares over the second half of the run; NaN when it is too
        short to tell."""
        return self.second_half_fit(of)[0]

    def second_half_fit(self, of: Callable[[Sample], float | None]) -> tuple[float, float]:
        """The second half's slope in bytes per minute (least squares) and its standard error, as
        if the samples scattered independently about the line (their swings last seconds to
        minutes, so the error is larger still); NaNs when the run is too short to tell."""
        half = [(s.t, v) for s in self.during if s.t >= self.config.seconds / 2 and (v := of(s)) is not None]
        if len(half) < MIN_HALF_SAMPLES:
            return math.nan, math.nan
        ts, vs = [t for t, _ in half], [v for _, v in half]
        fit = statistics.linear_regression(ts, vs)
        spread = math.sqrt(sum((v - fit.intercept - fit.slope * t) ** 2 for t, v in half) / (len(half) - 2))
        mean = statistics.fmean(ts)
        return fit.slope * 60, spread / math.sqrt(sum((t - mean) ** 2 for t in ts)) * 60

    @property
    def peak_rss(self) -> int:
        return max(s.hwm for s in self.samples)

    @property
    def backlogs(self) -> list[int]:
        return [s.backlog for s in self.during if s.backlog is not None]

    @property
    def received_bytes_rate(self) -> float:
        """Decoded bytes/s into the spool over the run."""
        return sum(s.size for s in self.acked) / self.config.seconds

    # -- the checks
    @property
    def rate_held(self) -> bool:
        return self.ack_rate >= HELD_SHARE * self.scheduled_rate

    @property
    def rss_flat(self) -> bool | None:
        slope = self.second_half_slope(lambda s: s.rss)
        return None if math.isnan(slope) else slope <= RSS_FLAT

    @property
    def drain_keeps_up(self) -> bool | None:
        """The backlog does not grow over the second half; None when the run is too short to tell."""
        slope = self.second_half_slope(lambda s: s.backlog)
        return None if math.isnan(slope) else slope <= DRAIN_SLACK * self.received_bytes_rate * 60

    @property
    def held(self) -> bool:
        return self.rate_held and self.p(99) <= TARGET_P99 and self.drain_keeps_up is not False and self.exactly_once

    @property
    def exactly_once(self) -> bool:
        return bool(self.stored) and all(
            s.missing == 0 and s.extra == 0 and s.repeated == 0 and s.stored == s.expected for s in self.stored
        )

    def memory_bound(self) -> list[tuple[str, int]]:
        """What the server may hold at most, from its limits, beside its RSS at the start."""
        limits = self.config.limits
        return [
            ("RSS at the start (warmed)", self.during[0].rss),
            ("max_inflight_bytes", limits.max_inflight_bytes),
            (
                f"the drain's groups: the one written and {DRAIN_AHEAD} ahead ({report.mib(GROUP_BYTES)} of spool x "
                f"{DRAIN_GROUP_FACTOR} each)",
                (1 + DRAIN_AHEAD) * GROUP_BYTES * DRAIN_GROUP_FACTOR,
            ),
            (f"DuckDB memory_limit {MEMORY_LIMIT}", duckdb_bytes(MEMORY_LIMIT)),
        ]


def duckdb_bytes(text: str) -> int:
    """A DuckDB size setting in bytes: '256MB' is 256 x 1000^2, '256MiB' 256 x 1024^2."""
    m = _SIZE.match(text)
    if m is None:
        raise ValueError(f"{text!r}: not a DuckDB size (e.g. 256MB)")
    unit = m.group(2).upper()
    power = "KMGT".index(unit[0]) + 1
    return int(float(m.group(1)) * (1024 if "I" in unit else 1000) ** power)


def run(cfg: Config, serve_yaml: str = "", inspect: Callable[[Run, Path], None] | None = None) -> Run:
    """Serve, send, stop, check: one run at cfg.rate for cfg.seconds. `serve_yaml` is added to the
    server's configuration; `inspect` sees the run and its folder (the reference store of the
    acknowledged records, reference.duckdb, and their files, acknowledged/) before they go."""
    byte_compiled()
    inputs = simulated = cluster(cfg.events or events_needed(cfg.rate, cfg.seconds), cfg.seed, cfg.data).folder
    cfg.data.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="serve-", dir=cfg.data) as tmp:
        folder = Path(tmp)
        token = folder / "token"
        token.write_text(secrets.token_urlsafe(32) + "\n")
        config = None
        if cfg.high_water is not None or serve_yaml:
            config = folder / "serve.yaml"
            limits = f"limits:\n  spool_high_water: {cfg.high_water}\n" if cfg.high_water is not None else ""
            config.write_text(limits + serve_yaml)
        if cfg.timed:
            inputs = in_event_time(inputs, folder / "replay", wires(cfg.otlp), cfg.rate, cfg.seconds)
        server = Server.start(folder, token, config)
        try:
            result = _load(cfg, inputs, folder, server, token)
            result.simulated = simulated.name
        finally:
            if server.proc.returncode is None:
                server.proc.kill()
                server.proc.wait()
        result.stored, result.quarantined, result.baseline = check(result, server.db, folder)
        if inspect is not None:
            inspect(result, folder)
    return result


def _load(cfg: Config, inputs: Path, folder: Path, server: Server, token: Path) -> Run:
    spec = Spec(
        server.url, str(token), str(inputs), cfg.rate, cfg.seconds, cfg.connections, cfg.otlp, str(folder / "gen.json"), cfg.timed
    )
    (folder / "spec.json").write_bytes(msgspec.json.encode(spec))
    cmd = [sys.executable, "-m", "bench.serve", "--generator", str(folder / "spec.json")]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=ROOT) as gen:
        try:
            assert gen.stdout is not None
            sampler = _sampled(gen.stdout, server, gen.pid, token.read_text().strip())
            try:
                stop_seconds, status, cpu = server.stop()
            finally:
                sampler.close()
            gen.stdout.read()
            gen.wait()
        finally:
            if gen.poll() is None:
                gen.kill()
    if gen.returncode != 0:
        raise SystemExit(f"bench.serve: the load generator failed (exit status {gen.returncode})")
    generated = msgspec.json.decode(Path(spec.out).read_bytes(), type=Generated)
    return Run(cfg, inputs, wires(cfg.otlp), generated, sampler.samples, stop_seconds, status, cpu)


def _sampled(stdout: IO[bytes], server: Server, generator: int, token: str) -> Sampler:
    """Follow the generator's messages: sample from its start; a last sample when it is done,
    and return then. The sampler goes on (through the server's drain) until the server is gone."""
    sampler: Sampler | None = None
    for line in stdout:
        msg = orjson.loads(line)
        if "ready" in msg:
            print(f"bench.serve: {msg['requests']:,} requests made in {msg['ready']:.1f} s; sending", file=sys.stderr, flush=True)
        elif "start" in msg:
            sampler = Sampler(server.proc.pid, generator, server.url, token, msg["start"]).start_sampling()
        elif "done" in msg and sampler is not None:
            sampler.sample()
            return sampler
    if sampler is not None:
        sampler.close()
    raise SystemExit("bench.serve: the load generator stopped before it was done")


# -- the check: every acknowledged event stored, once --------------------------------------------
def check(result: Run, served: Path, folder: Path) -> tuple[list[Stored], int, Baseline]:
    files = acknowledged_files(result, folder / "acknowledged")
    reference = folder / "reference.duckdb"
    baseline = reference_ingest(files, reference)
    records: Counter[str] = Counter()
    for s in result.gen.requests:
        if s.ok:
            records[result.wires[s.wire].source] += s.records
    stored, quarantined = compare(served, reference, records)
    return stored, quarantined, baseline


def acknowledged_files(result: Run, out: Path) -> list[Path]:
    """The acknowledged records, one file per wire, as the producers wrote them."""
    out.mkdir()
    ranges: dict[int, list[tuple[int, int]]] = {}
    for s in result.gen.requests:
        if s.ok:
            ranges.setdefault(s.wire, []).append((s.first, s.first + s.lines))
    paths = []
    for index, spans in sorted(ranges.items()):
        wire = result.wires[index]
        path = out / f"{wire.source}.jsonl"
        with open(result.inputs / wire.file, "rb") as src, open(path, "wb") as dst:
            dst.writelines(_selected(src, sorted(spans)))
        paths.append(path)
    return paths


def _selected(lines: IO[bytes], spans: list[tuple[int, int]]) -> Iterator[bytes]:
    """The lines inside the sorted [first, end) spans."""
    spans_left = iter(spans)
    first, end = next(spans_left)
    for number, line in enumerate(lines):
        while number >= end:
            nxt = next(spans_left, None)
            if nxt is None:
                return
            first, end = nxt
        if number >= first:
            yield line


def reference_ingest(files: list[Path], db: Path) -> Baseline:
    """`kubetrail ingest` of the files (each source detected, as for a folder), in a child process."""
    cmd = [sys.executable, "-m", "kubetrail", "ingest", *map(str, files), "--db", str(db), "--cluster", CLUSTER, "-o", "json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, check=True).stdout
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Baseline(seconds, cpu, sum(orjson.loads(out)["ingested"].values()))


def compare(served: Path, reference: Path, records: Counter[str]) -> tuple[list[Stored], int]:
    """Per source: the reference's events against the served store's, by event id."""
    import duckdb

    with duckdb.connect(str(served), read_only=True) as con:
        con.execute(f"ATTACH '{reference}' AS ref (READ_ONLY)")

        def by_source(sql: str) -> dict[str, tuple[int, ...]]:
            return {row[0]: tuple(row[1:]) for row in con.execute(sql).fetchall()}

        stored = by_source("SELECT source, count(*), count(DISTINCT id) FROM events GROUP BY source")
        expected = by_source("SELECT source, count(*) FROM ref.events GROUP BY source")
        missing = by_source("SELECT r.source, count(*) FROM ref.events r ANTI JOIN events e USING (id) GROUP BY r.source")
        extra = by_source("SELECT e.source, count(*) FROM events e ANTI JOIN ref.events r USING (id) GROUP BY e.source")
        ((quarantined,),) = con.execute("SELECT count(*) FROM quarantine").fetchall()
    rows = [
        Stored(source, records[source], expected.get(source, (0,))[0], stored.get(source, (0, 0))[0],
               missing.get(source, (0,))[0], extra.get(source, (0,))[0],
               stored.get(source, (0, 0))[0] - stored.get(source, (0, 0))[1])
        for source in sorted(set(records) | set(stored) | set(expected), key=lambda s: -records[s])
    ]  # fmt: skip
    return rows, int(quarantined)


# -- the report ------------------------------------------------------------------------------------
def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else report.duration(seconds)


def per_s(value: float) -> str:
    return f"{value:,.0f} events/s"


def mib_per_min(value: float) -> str:
    return "too short to tell" if math.isnan(value) else f"{value / 2**20:+,.1f} MiB/min"


def mib1(size: float) -> str:
    return f"{size / 2**20:,.1f} MiB"


def met(ok: bool | None) -> str:
    return "-" if ok is None else report.met(ok)


Row = list[str]  # measure, kubetrail serve, baseline (same run), ratio, target


def run_rows(r: Run) -> list[Row]:
    """The measures of one run, each beside its baseline and target."""
    return [rate_row(r), *latency_rows(r), generator_row(r), rss_row(r), store_memory_row(r), backlog_row(r), *cpu_rows(r),
            stop_row(r), stored_row(r)]  # fmt: skip


def rate_row(r: Run) -> Row:
    cfg, windows, acked = r.config, r.windows(), sum(s.records for s in r.acked)
    what = f"acknowledged: {acked:,} records in {len(r.acked):,} requests over {cfg.connections} connections"
    per = f"per {min(WINDOW, cfg.seconds):g} s window" + (" after the first" if len(windows) > 1 else "")
    got = f"{per_s(r.ack_rate)}; {per} min {min(windows):,.0f}, median {statistics.median(windows):,.0f}"
    target = f"≥ {HELD_SHARE:.0%} of those sent {report.met(r.rate_held)}"
    return [what, got, f"{per_s(r.scheduled_rate)} sent on schedule", f"{r.ack_rate / r.scheduled_rate:.2f}", target]


def latency_rows(r: Run) -> list[Row]:
    target = f"p99 ≤ {report.bound(TARGET_P99)} {report.met(r.p(99) <= TARGET_P99)}"
    rows = [[f"request to 2xx, all {len(r.acked):,} requests", f"p50 {ms(r.p(50))}, p99 {ms(r.p(99))}", "", "", target]]
    for i, w in enumerate(r.wires):
        rows.append([f"… {w.path}: {w.producer}, {len(r.latencies(i)):,} requests", f"p50 {ms(r.p(50, i))}, p99 {ms(r.p(99, i))}",
                     "", "", ""])  # fmt: skip
    return rows


def generator_row(r: Run) -> Row:
    retries = ", ".join(f"{k}: {v:,}" for k, v in sorted(r.gen.retries.items())) or "none"
    return ["load generator: behind its schedule (p99); failed requests; refused and sent again",
            f"{ms(r.lag_p99)}; {r.failed:,} failed; {retries}", "", "", ""]  # fmt: skip


def rss_row(r: Run) -> Row:
    rss = [s.rss for s in r.during]
    slope, error = r.second_half_fit(lambda s: s.rss)
    spread = "" if math.isnan(error) else f" (± {error / 2**20:,.1f}: the fit's standard error)"
    got = (f"start {report.mib(rss[0])}, max {report.mib(max(rss))}, end {report.mib(rss[-1])}; "
           f"second half {mib_per_min(slope)}{spread}")  # fmt: skip
    what = f"server RSS, its workers' included (VmRSS every {SAMPLE_SECONDS:g} s)"
    return [what, got, "", "", f"flat (≤ {mib_per_min(RSS_FLAT)}) {met(r.rss_flat)}"]


def store_memory_row(r: Run) -> Row:
    held = [s.store_memory for s in r.during if s.store_memory is not None] or [0]
    slope = r.second_half_slope(lambda s: s.store_memory)
    got = (f"start {report.mib(held[0])}, max {report.mib(max(held))}, end {report.mib(held[-1])}; "
           f"second half {mib_per_min(slope)}")  # fmt: skip
    return [f"… of which the store engine's own memory (DuckDB, /metrics every {SAMPLE_SECONDS:g} s)", got, "", "", ""]


def backlog_row(r: Run) -> Row:
    backlogs = r.backlogs or [0]
    got = (f"max {mib1(max(backlogs))}, end {mib1(backlogs[-1])}; "
           f"second half {mib_per_min(r.second_half_slope(lambda s: s.backlog))}")  # fmt: skip
    target = f"keeps up (grows < {DRAIN_SLACK:.0%} of what comes) {met(r.drain_keeps_up)}"
    return [f"drain backlog (/readyz every {SAMPLE_SECONDS:g} s)", got, f"{mib1(r.received_bytes_rate)}/s received", "", target]


def cpu_rows(r: Run) -> list[Row]:
    """CPU s/s of each process; the server's per event (from the start to its exit, drain
    included) beside `kubetrail ingest`'s of the same records."""
    acked, base = sum(s.records for s in r.acked), r.baseline
    per_event = (r.server_cpu - r.samples[0].server_cpu) / acked if acked else math.nan
    base_per_event = base.cpu / base.events if base and base.events else math.nan
    baseline = f"`kubetrail ingest` of the same records: {base_per_event * 1e6:,.0f} µs per event, " + (
        per_s(base.rate) if base else "-"
    )
    return [
        [f"CPU of the server and its workers (of {os.cpu_count()} cores)", f"{r.cpu_rate(lambda s: s.server_cpu):.2f} s/s, "
         f"{per_event * 1e6:,.0f} µs per event", baseline, f"{per_event / base_per_event:.2f}", ""],
        ["CPU of the load generator", f"{r.cpu_rate(lambda s: s.generator_cpu):.2f} s/s", "", "", ""],
    ]  # fmt: skip


def stop_row(r: Run) -> Row:
    got = f"{report.duration(r.stop_seconds)}, exit status {r.exit_status}"
    return ["SIGTERM: drain the spool and exit", got, "", "", f"exit 0 {report.met(r.exit_status == 0)}"]


def stored_row(r: Run) -> Row:
    expected = sum(s.expected for s in r.stored)
    got = (f"{sum(s.stored for s in r.stored):,} stored; {sum(s.missing for s in r.stored):,} missing, "
           f"{sum(s.extra for s in r.stored):,} extra, {sum(s.repeated for s in r.stored):,} repeated; "
           f"{r.quarantined:,} quarantined")  # fmt: skip
    baseline = f"`kubetrail ingest` of the acknowledged records: {expected:,}"
    return [f"stored, exactly once: {expected:,} distinct events acknowledged", got, baseline, "",
            f"all, once {report.met(r.exactly_once)}"]  # fmt: skip


def stored_lines(r: Run) -> list[str]:
    rows = [[s.source, f"{s.records:,}", f"{s.expected:,}", f"{s.stored:,}", f"{s.missing:,}", f"{s.extra:,}", f"{s.repeated:,}"]
            for s in r.stored]  # fmt: skip
    header = ["source", "records acknowledged", "distinct events (`kubetrail ingest` of them)", "stored by serve", "missing",
              "extra", "repeated"]  # fmt: skip
    return report.table(header, rows, "lrrrrrr")


def timeline(r: Run) -> list[str]:
    """The run over time: at most ~12 rows, then the drain after SIGTERM."""
    step = max(WINDOW, math.ceil(r.config.seconds / 10 / WINDOW) * WINDOW) if r.config.seconds >= WINDOW else r.config.seconds
    rows, previous = [], r.samples[0]
    ends = [*itertools.takewhile(lambda t: t <= r.config.seconds, (step * k for k in itertools.count(1)))]
    for end in [*ends, r.samples[-1].t]:
        sample = max((s for s in r.samples if s.t <= end + SAMPLE_SECONDS / 2), key=lambda s: s.t)
        if sample.t <= previous.t:
            continue
        span = sample.t - previous.t
        acked = sum(s.records for s in r.acked if previous.t < s.acked <= sample.t)
        rows.append([f"{sample.t:,.0f} s", f"{acked / span:,.0f}", report.mib(sample.rss),
                     "-" if sample.store_memory is None else report.mib(sample.store_memory),
                     "-" if sample.backlog is None else mib1(sample.backlog),
                     f"{(sample.server_cpu - previous.server_cpu) / span:.2f}",
                     f"{(sample.generator_cpu - previous.generator_cpu) / span:.2f}"])  # fmt: skip
        previous = sample
    header = ["time", "events/s acknowledged", "server RSS", "store engine's memory", "drain backlog", "server CPU s/s",
              "generator CPU s/s"]  # fmt: skip
    return report.table(header, rows, "rrrrrrr")


def method(r: Run) -> str:
    limits = r.config.limits
    if r.config.timed:
        replay = (
            "each producer's file replayed in event time from its start, the planted stories merged in, sped up to the "
            "rate (a request is sent when its batch is full or its linger is up after its first record)"
        )
    else:
        replay = (
            f"each producer's file replayed from its start at its share of the rate "
            f"({', '.join(f'{w.source} {shares()[w.file]:.0%}' for w in r.wires)})"
        )
    return (
        f"Simulated cluster {r.simulated} (bench/inputs.py), {replay}; bodies made before the clock "
        f"started ({r.gen.prepare_seconds:.0f} s), one request per receiver sent and stored before it (not timed, but "
        f"checked). One bearer token for every sender; limits: spool_high_water {report.mib(limits.spool_high_water)}, "
        f"max_inflight_bytes {report.mib(limits.max_inflight_bytes)}, per_sender_inflight {limits.per_sender_inflight}. "
        f"Latency: from a request's first send to its 2xx (Retry-After waits included); events: records acknowledged "
        f"(OTLP: spans). The load generator (httpx {version('httpx')}, asyncio) shares the {os.cpu_count()} cores with the "
        f"server. After the run the acknowledged records, written back to files, were ingested by `kubetrail ingest` "
        f"into a store of their own, and its event ids compared with the served store's."
    )


def header(title: str, argv: Sequence[str], module: str = "bench.serve") -> list[str]:
    extra = [f"{p} {version(p)}" for p in ("starlette", "uvicorn", "httpx", "protobuf")]
    return [f"### {time.strftime('%Y-%m-%d')}: {title}", "", f"Machine: {report.machine(*extra)}.", "",
            f"Command: `{shlex.join(['python', '-m', module, *argv])}`.", ""]  # fmt: skip


COLUMNS: Final = ["measure", "kubetrail serve", "baseline, same run", "ratio", "target"]


def sustained_lines(r: Run) -> list[str]:
    return [
        *report.table(COLUMNS, run_rows(r), "lrrrl"), "", *stored_lines(r), "", *timeline(r), "", method(r), "",
    ]  # fmt: skip


def burst_lines(r: Run) -> list[str]:
    bound = r.memory_bound()
    total = sum(v for _, v in bound)
    parts = " + ".join(f"{name} {report.mib(v)}" for name, v in bound)
    rows = [
        [f"sent in {r.config.seconds:g} s, as fast as {r.config.connections} connections go",
         f"{r.sent_records:,} of {r.gen.scheduled_records:,} records scheduled ({r.sent_records / r.gen.scheduled_records:.0%})",
         "", "", ""],
        ["refused and sent again: 503 (spool past its high-water mark, or bytes in flight), 429 (one sender's requests)",
         f"503: {r.gen.retries.get('503', 0):,}, 429: {r.gen.retries.get('429', 0):,}", "", "",
         f"backpressure engaged {report.met(r.gen.retries.get('503', 0) > 0)}"],
        [f"server peak RSS (VmHWM, its workers' added), against the bound its limits give: {parts}", report.mib(r.peak_rss),
         f"bound {report.mib(total)}", f"{r.peak_rss / total:.2f}", f"within the bound {report.met(r.peak_rss <= total)}"],
    ]  # fmt: skip
    return [*report.table(COLUMNS, rows + run_rows(r), "lrrrl"), "", *stored_lines(r), "", *timeline(r), "", method(r), ""]


def ladder_lines(runs: list[Run]) -> list[str]:
    rows = [[f"{r.config.rate:,.0f}", f"{r.ack_rate:,.0f}", f"{ms(r.p(50))}", f"{ms(r.p(99))}",
             f"{mib1(max(r.backlogs, default=0))}", met(r.drain_keeps_up), report.met(r.exactly_once),
             f"{r.cpu_rate(lambda s: s.server_cpu):.2f}", f"{r.cpu_rate(lambda s: s.generator_cpu):.2f}", ms(r.lag_p99),
             report.met(r.held)] for r in runs]  # fmt: skip
    cols = ["events/s sent", "acknowledged/s", "p50", "p99", "max backlog", "drain keeps up", "all stored once",
            "server CPU s/s", "generator CPU s/s", "generator behind (p99)", "held"]  # fmt: skip
    held = [r for r in runs if r.held]
    best = max(held, key=lambda r: r.config.rate, default=None)
    base = best.baseline if best else runs[-1].baseline
    verdict = (
        f"Highest rate that held: {best.config.rate:,.0f} events/s (p99 {ms(best.p(99))})" if best
        else "No rate held (from the lowest tried)"
    ) + (f"; `kubetrail ingest` of the same records from files, same run: {per_s(base.rate)}"
         + (f", ratio {best.config.rate / base.rate:.2f}" if best else "") if base else "") + "."  # fmt: skip
    return [*report.table(cols, rows, "rrrrrllrrrl"), "", verdict, "", method(runs[-1]), ""]


# -- the modes -----------------------------------------------------------------------------------
def find_max(cfg: Config) -> list[Run]:
    """From cfg.rate, up by STEP_UP while a run holds; down from it while none has."""
    runs: list[Run] = []
    rate = cfg.rate
    for _ in range(MAX_STEPS):
        runs.append(run(replace(cfg, rate=rate)))
        r = runs[-1]
        print(f"bench.serve: {rate:,.0f} events/s: acknowledged {r.ack_rate:,.0f}/s, p99 {ms(r.p(99))}, "
              f"drain keeps up {r.drain_keeps_up}, held {r.held}", file=sys.stderr, flush=True)  # fmt: skip
        if r.held == (rate < cfg.rate) and len(runs) > 1:
            break
        rate = round(rate * (STEP_UP if r.held else 1 / STEP_UP) / 50) * 50
    return runs


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--burst", action="store_true", help=f"{BURST_SECONDS:g} s at {BURST_FACTOR}x the rate, spool high-water "
                      f"{report.mib(BURST_HIGH_WATER)}")  # fmt: skip
    mode.add_argument("--find-max", action="store_true", help="step the rate up until a run does not hold")
    mode.add_argument("--generator", metavar="SPEC", help=argparse.SUPPRESS)  # the load generator's own process
    ap.add_argument("--rate", type=float, default=RATE, help="events/s (default %(default)g)")
    ap.add_argument(
        "--seconds",
        type=float,
        default=None,
        help=f"default {SECONDS:g}; with --burst {BURST_SECONDS:g}, with --find-max {STEP_SECONDS:g} per step",
    )
    ap.add_argument("--connections", type=int, default=None, help=f"default {CONNECTIONS}; with --burst {BURST_CONNECTIONS}")
    ap.add_argument("--high-water", type=int, default=None, help="the server's limits.spool_high_water in bytes")
    ap.add_argument("--otlp", choices=["protobuf", "json"], default="protobuf", help="OTLP encoding (default protobuf)")
    ap.add_argument("--events", type=int, default=0, help="simulated events (default: enough, in whole millions)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--record", action="store_true", help="put the results at the top of bench/RESULTS.md")
    return ap.parse_args(argv)


def config(args: argparse.Namespace, data: Path = DATA) -> Config:
    burst = bool(args.burst)
    return Config(
        rate=args.rate * (BURST_FACTOR if burst else 1),
        seconds=args.seconds or (BURST_SECONDS if burst else STEP_SECONDS if args.find_max else SECONDS),
        connections=args.connections or (BURST_CONNECTIONS if burst else CONNECTIONS),
        high_water=args.high_water or (BURST_HIGH_WATER if burst else None),
        otlp=args.otlp, seed=args.seed, events=args.events, data=data,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None, data: Path = DATA) -> list[str]:
    """Run the benchmark the arguments ask for; print (and with --record, keep) its section."""
    args = arguments(argv)
    if args.generator:
        generate(msgspec.json.decode(Path(args.generator).read_bytes(), type=Spec))
        return []
    cfg = config(args, data)
    argv = list(sys.argv[1:] if argv is None else argv)
    if args.find_max:
        runs = find_max(cfg)
        section = [*header(f"kubetrail serve, the highest sustained rate ({cfg.seconds:g} s steps)", argv), *ladder_lines(runs)]
    elif args.burst:
        title = (f"kubetrail serve, a {cfg.seconds:g} s burst at {cfg.rate:,.0f} events/s ({BURST_FACTOR}x {args.rate:,.0f}), "
                 f"spool high-water {report.mib(cfg.limits.spool_high_water)}")  # fmt: skip
        section = [*header(title, argv), *burst_lines(run(cfg))]
    else:
        title = f"kubetrail serve, sustained ingest at {cfg.rate:,.0f} events/s for {cfg.seconds:g} s"
        section = [*header(title, argv), *sustained_lines(run(cfg))]
    print("\n".join(section), flush=True)
    if args.record:
        report.record(section)
    return section


if __name__ == "__main__":
    main()
