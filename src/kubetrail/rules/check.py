"""`kubetrail rules test`: every rule's inline test records, normalized by their source as ingest
does, stored in a store of their own (in memory) and matched by the rules as `incidents` matches
them: through the candidates the store keeps for the rules it covers. A threshold or sequence
rule's records are judged together, each list in a store of its own: the `match` records must
make it fire, the `no_match` ones must not."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import orjson
import pyarrow as pa

from kubetrail.ingest.pipeline import Job, _decoders, normalize_chunks
from kubetrail.ingest.reader import chunks
from kubetrail.rules import Rule, Sample
from kubetrail.store.duckdb import DuckDBStore

_CLUSTER: Final = "rules-test"
_ALL_TIME: Final = (0, 1 << 62)


@dataclass(frozen=True, slots=True)
class Failure:
    rule: Rule
    where: str  # file:line of the test record
    what: str

    def __str__(self) -> str:
        return f"{self.where}: rule {self.rule.id}: {self.what}"


@dataclass(frozen=True, slots=True)
class Report:
    rules: int  # rules with inline tests
    records: int
    failures: tuple[Failure, ...]
    untested: tuple[Rule, ...]  # rules without a record that must match or one that must not


def check(rules: Sequence[Rule]) -> Report:
    store = DuckDBStore(":memory:")
    try:
        return _check(store, rules)
    finally:
        store.close()


def _check(store: DuckDBStore, rules: Sequence[Rule]) -> Report:
    failures: list[Failure] = []
    planned: list[tuple[Rule, Sample, bool, set[tuple[str, str]]]] = []
    events: list[pa.Table] = []
    for rule in rules:
        if rule.threshold is not None or rule.sequence is not None:
            failures += _check_together(rule)
            continue
        for sample, expect in [*((s, True) for s in rule.matches), *((s, False) for s in rule.no_matches)]:
            normalized = _normalize(store, sample)
            if isinstance(normalized, str):
                failures.append(Failure(rule, sample.where, normalized))
                continue
            events.append(normalized)
            stored = zip(normalized["id"].to_pylist(), normalized["content_hash"].to_pylist(), strict=True)
            planned.append((rule, sample, expect, set(stored)))
    if events:
        store.write_events(pa.concat_tables(events, promote_options="default"))
    store.cover_rules(rules)
    for rule, sample, expect, keys in planned:
        # A record written as a copy of another with one field changed keeps its identity (an
        # audit ID): it is stored beside the other as a conflict, under id~content_hash.
        ids = [i for e, h in keys for i in (e, f"{e}~{h}")]
        found = store.rule_matches([rule], *_ALL_TIME, ids=ids)
        matched = any((e["id"].split("~", 1)[0], e["content_hash"]) in keys for e in found)
        if matched != expect:
            what = "the record must match, and the rule does not match it" if expect else "the record must not match, and it does"
            failures.append(Failure(rule, sample.where, what))
    tested = [r for r in rules if r.matches or r.no_matches]
    untested = tuple(r for r in rules if not (r.matches and r.no_matches))
    records = sum(len(r.matches) + len(r.no_matches) for r in rules)
    return Report(len(tested), records, tuple(failures), untested)


def _check_together(rule: Rule) -> list[Failure]:
    """A threshold or sequence rule: each list of records together, in a store of its own."""
    failures = []
    for samples, expect in ((rule.matches, True), (rule.no_matches, False)):
        if not samples:
            continue
        store = DuckDBStore(":memory:")
        try:
            normalized = [(s, _normalize(store, s)) for s in samples]
            if wrong := [Failure(rule, s.where, n) for s, n in normalized if isinstance(n, str)]:
                failures += wrong
                continue
            store.write_events(pa.concat_tables([n for _, n in normalized if not isinstance(n, str)], promote_options="default"))
            store.cover_rules([rule])
            fired = bool(store.rule_matches([rule], *_ALL_TIME))
        finally:
            store.close()
        if fired != expect:
            which = "the match records together must make it fire" if expect else "the no_match records together must not"
            failures.append(Failure(rule, samples[0].where, f"{which}, and {'they do not' if expect else 'they do'}"))
    return failures


def _normalize(store: DuckDBStore, sample: Sample) -> pa.Table | str:
    """The events of one record, or what went wrong."""
    data = orjson.dumps(sample.record) + b"\n"
    job = Job(sample.where, store.begin_file(sample.where), sample.source, _CLUSTER, _CLUSTER)
    result = normalize_chunks(chunks(io.BufferedReader(io.BytesIO(data)), _decoders()), job)
    if result.quarantine:
        return f"the {sample.source} record does not normalize: {result.quarantine[0].reason}"
    if not result.events.num_rows:
        return f"the {sample.source} record gives no event"
    return result.events
