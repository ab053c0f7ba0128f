"""Rule conditions (kubetrail/rules, docs/rules.md) compiled into ClickHouse SQL, and the rule
scans of the ClickHouse store: what store/duckdb_rules.py and DuckDBStore.rule_matches do for
DuckDB, giving the same rows.

The truth values are DuckDB's: a leaf is never NULL (a null field matches nothing but
`null`/`exists: false`), so `not` is plain negation; a leaf over a list holds when it holds for
any element, and an empty list is a null one (a ClickHouse Array cannot be NULL). A covered rule
reads its class's candidates (the events the covered rules match, kept with each batch:
`Coverage`), any other its class table, deduplicated (FINAL) either way. Every value is a bound
parameter (`{p0:String}`, clickhouse-connect's server-side binding)."""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from kubetrail.model import CLASSES, EventClass
from kubetrail.rules import CLASS_BY_TABLE, Rule, Step, field_type
from kubetrail.store import duckdb_rules
from kubetrail.store.clickhouse import _read_row, _select_field
from kubetrail.store.ddl import candidate_fields
from kubetrail.store.duckdb_rules import Coverage, Covered, _join, _like, _value, merge_matches

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

_DERIVED: Final = {  # rules.DERIVED's fields, as duckdb_rules computes them
    "binary_name": "extract(`binary`, '[^/]*$')",
    "binary_dir": "if(match(`binary`, '^/+[^/]*$'), '/', trimRight(extract(`binary`, '^(.*/)[^/]*$'), '/'))",
    "service_account_namespace": "substringIndex(`service_account`, '/', 1)",
    "authenticated_user": "coalesce(`impersonated_by`, `actor`)",
}
# A JSON value of `extra` as DuckDB's json_extract_string gives it: a string unquoted, anything
# else as its JSON text, NULL when the key is missing or the value is null.
_EXTRA: Final = (
    "multiIf(JSONType(`extra`, {keys}) = 'Null', NULL, JSONType(`extra`, {keys}) = 'String', "
    "JSONExtractString(`extra`, {keys}), JSONExtractRaw(`extra`, {keys}))"
)
# RE2 as DuckDB runs it: `.` does not match a newline (ClickHouse's match() sets the `s` flag).
_REGEX_FLAGS: Final = "(?-s)"
_TYPES: Final = {bool: "Bool", int: "Int64", float: "Float64", str: "String", list: "Array(String)"}
# The events of a rule scan's window [since, until) ns, of cluster (NULL: all); `{early}` moves its
# start earlier by a sequence's span.
_IN_WINDOW: Final = (
    "`time` >= fromUnixTimestamp64Nano({{since:Int64}}{early}) AND `time` < fromUnixTimestamp64Nano({{until:Int64}}) "
    "AND ({{cluster:Nullable(String)}} IS NULL OR `cluster` = {{cluster:Nullable(String)}})"
)


def _final(table: str, where: str) -> str:
    """What follows FROM for `table FINAL WHERE where`, fast: FINAL reads every column of every
    row it merges, so the rows are first narrowed, before FINAL, to the keys (the whole sorting
    key) of the rows `where` holds for, read on the columns it needs; FINAL then reads only those
    keys' granules (PREWHERE on sorting-key columns is safe with FINAL: all versions of a row
    share its key), and `where` is checked again on the row FINAL keeps. The same rows as the
    plain form: a key whose kept row matches has a version that matches."""
    return f"{table} FINAL {_narrowed(table, where)} WHERE {where}"


def _narrowed(table: str, where: str) -> str:
    """The PREWHERE that narrows a FINAL read of `table` to the keys of the rows `where` holds for."""
    return f"PREWHERE (`time`, `id`, `content_hash`) IN (SELECT `time`, `id`, `content_hash` FROM {table} WHERE {where})"


class Params(duckdb_rules.Params):
    """The values a compiled statement binds, named p0, p1, ..., each with its ClickHouse type."""

    def add(self, value: Any) -> str:
        name = super().add(value).removeprefix("$")
        return f"{{{name}:{_TYPES[type(value)]}}}"


def predicate(kinds: Sequence[str], condition: Mapping[str, Any], cls: EventClass, params: Params) -> str:
    """The SQL of one rule: duckdb_rules' walk of its condition, with this module's leaves."""
    return duckdb_rules.predicate(kinds, condition, cls, params, _leaf)


def coverage(covered: Sequence[Covered]) -> Coverage:
    """The statements that keep the candidates of the covered rules, compiled for ClickHouse."""
    return Coverage(covered, predicate, Params)


def column(name: str, params: Params) -> str:
    """A field (derived ones and `extra.PATH` included) as SQL."""
    if name.startswith("extra."):
        keys = ", ".join(params.add(k) for k in name.removeprefix("extra.").split("."))
        return _EXTRA.format(keys=keys)
    return _DERIVED.get(name, f"`{name}`")


def _leaf(name: str, matcher: Any, cls: EventClass, params: Params) -> str:
    sql_type = field_type(cls, name) or "VARCHAR"
    col = column(name, params)
    is_list = sql_type.endswith("[]")
    if matcher is None or (isinstance(matcher, dict) and "exists" in matcher):
        present = f"notEmpty({col})" if is_list else f"({col} IS NOT NULL)"
        return present if isinstance(matcher, dict) and matcher["exists"] else f"(NOT {present})"
    if is_list:  # the elements of an Array(String) are never NULL
        return f"arrayExists(x -> {_one('x', matcher, name, params)}, {col})"
    return f"ifNull({_one(col, matcher, name, params)}, false)"


def _one(x: str, matcher: Any, name: str, params: Params) -> str:
    """The matcher over one value `x` (NULL when `x` is)."""
    text = name.startswith("extra.")  # a JSON value compares as its text: true -> 'true'
    if not isinstance(matcher, dict):
        # A null among the values matches nothing, as `x IN (NULL)` does not hold in DuckDB.
        values = [v for v in (matcher if isinstance(matcher, list) else [matcher]) if v is not None]
        return f"{x} IN ({', '.join(params.add(_value(v, text)) for v in values)})" if values else "false"
    ((op, arg),) = matcher.items()
    if op == "wildcard":  # LIKE escapes with a backslash, as duckdb_rules' ESCAPE '\' does
        return _join([f"{x} LIKE {params.add(_like(w))}" for w in ([arg] if isinstance(arg, str) else arg)], "OR")
    if op == "regex":
        return f"match({x}, {params.add(_REGEX_FLAGS + arg)})"
    if op == "cidr":
        return _join([_in_range(x, c, params) for c in ([arg] if isinstance(arg, str) else arg)], "OR")
    if op == "field":
        return f"{x} = {column(arg, params)}"
    sign = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
    return f"{x} {sign} {params.add(arg)}"


def _in_range(x: str, cidr: str, params: Params) -> str:
    """`x` is an address of the range: compared as numbers, the address parsed with the OrNull
    functions (isIPAddressInRange throws on text that is no address). An IPv6 range takes
    addresses in hex groups only, as duckdb_rules' does: not the IPv4-mapped `::ffff:a.b.c.d`
    (toIPv6OrNull would also read a plain IPv4 address as one)."""
    net = ipaddress.ip_network(cidr, strict=False)
    if net.version == 4:
        low, high = params.add(int(net.network_address)), params.add(int(net.broadcast_address))
        return f"IPv4StringToNumOrNull({x}) BETWEEN {low} AND {high}"
    low, high = params.add(str(net.network_address)), params.add(str(net.broadcast_address))
    return f"if(position({x}, '.') = 0, toIPv6OrNull({x}), NULL) BETWEEN toIPv6({low}) AND toIPv6({high})"


# -- the scans ---------------------------------------------------------------------------------


def rule_matches(
    client: Client, rules: Sequence[Rule], since: int, until: int, cluster: str | None,
    ids: Sequence[str] | None, read: Callable[[str, Step], str],
) -> list[dict[str, Any]]:  # fmt: skip
    """The events of [since, until) (of `cluster`; among `ids`) that the rules match, each with
    the ids of the rules it matched (`rules`), in time order; a threshold rule's with the `count`
    of its group, a sequence rule's with its first step's event id (`first_step`). All
    single-event rules of a class read in one scan; a threshold or sequence rule in its own
    (DuckDBStore.rule_matches, in the same order, so that a row several rules matched lists them
    alike). `read` names the table a selection (Rule.selections) reads: its class's candidates
    when the store covers it, else the class table."""
    window = {"since": since, "until": until, "cluster": cluster}
    found: dict[str, dict[str, Any]] = {}
    for r in rules:
        if r.sequence is not None:
            merge_matches(found, _rows(client, *_sequence_scan(r, [read(n, s) for n, s in r.selections()], ids), window))
    for c in CLASSES:
        single: dict[str, list[Rule]] = {}  # by the table they read
        for r in (r for r in rules if r.table == c.table and r.sequence is None):
            source = read(*r.selections()[-1])
            if r.threshold is not None:
                merge_matches(found, _rows(client, *_threshold_scan(source, c, r, ids), window))
            else:
                single.setdefault(source, []).append(r)
        for source, part in single.items():
            merge_matches(found, _rows(client, *_scan(source, c, part, ids), window))
    return sorted(found.values(), key=lambda r: (r["time"], r["id"]))


def _rows(client: Client, sql: str, params: Params, window: dict[str, Any]) -> list[dict[str, Any]]:
    result = client.query(sql, parameters={**params.values, **window})
    return [_read_row(row) for row in result.named_results()]


def _fields(c: EventClass, prefix: str = "") -> str:
    """A class's fields but the raw record, as stored (the scan filters on them)."""
    return ", ".join(f"{prefix}`{f}` AS `{f}`" for f in candidate_fields(c))


def _output(c: EventClass) -> str:
    """What a scan returns of each event of subquery `e`: as get_events gives it (times as int
    ns). Converted outside the subquery that filters: ClickHouse would read a time field in its
    WHERE as the alias of the same name."""
    return ", ".join(_select_field(c.fields, f) for f in candidate_fields(c))


def _among(ids: Sequence[str] | None, params: Params, keyword: str) -> str:
    """A scan's rows narrowed to these event ids (none: no narrowing)."""
    return f"{keyword} `id` IN {params.add(list(ids))}" if ids is not None else ""


def _scan(source: str, c: EventClass, rules: Sequence[Rule], ids: Sequence[str] | None) -> tuple[str, Params]:
    """The single-event rules of class `c`, in one scan of `source` (its table or candidates): the
    events any matches, with the ids of those that do."""
    params = Params()
    predicates = [predicate(r.kinds, r.condition, c, params) for r in rules]
    hits = ", ".join(f"if({p}, {params.add(r.id)}, '')" for p, r in zip(predicates, rules, strict=True))
    # The rows are narrowed before FINAL (see `_final`): to the given ids (a part of the sorting
    # key, the bloom filter index finds them), else to the keys of the rows a predicate holds
    # for. The list of the rules the row FINAL keeps matches is then its check: each predicate is
    # written once or twice, never more (a statement's analysis costs by its length: some 50 ms
    # for the API call rules).
    if ids is not None:
        narrowed = f"PREWHERE `id` IN {params.add(list(ids))}"
    else:
        narrowed = _narrowed(source, f"{_IN_WINDOW.format(early='')} AND ({' OR '.join(predicates)})")
    sql = f"""SELECT {_output(c)}, e.rules AS rules FROM (
    SELECT {_fields(c)}, arrayFilter(r -> r != '', [{hits}]) AS rules
    FROM {source} FINAL {narrowed}
    WHERE {_IN_WINDOW.format(early="")}
) AS e
WHERE notEmpty(e.rules)"""
    return sql, params


def _threshold_scan(source: str, c: EventClass, rule: Rule, ids: Sequence[str] | None) -> tuple[str, Params]:
    """The event at which each group of a threshold rule reached its count within its span (the
    window's events only), with the group's `count` in the window.

    The events of a group within the span up to an event (DuckDB's window count over `RANGE
    BETWEEN span PRECEDING`, which ClickHouse limits to 32-bit offsets: 2 s in ns) are those up
    to it less those up to a ns before the span: the latter the running count of the group's last
    event that early (ASOF JOIN)."""
    assert rule.threshold is not None
    params = Params()
    where = predicate(rule.kinds, rule.condition, c, params)
    keys = [column(name, params) for name in rule.threshold.by]
    by = ", ".join(f"_k{i}" for i in range(len(keys)))
    matched = " AND ".join([_IN_WINDOW.format(early=""), where, *(f"{k} IS NOT NULL" for k in keys)])
    sql = f"""WITH matched AS (
    SELECT {_fields(c)}, toUnixTimestamp64Nano(`time`) AS _t, {", ".join(f"{k} AS _k{i}" for i, k in enumerate(keys))}
    FROM {_final(source, matched)}
), counted AS (
    SELECT *, count() OVER (PARTITION BY {by} ORDER BY _t RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS _upto,
        count() OVER (PARTITION BY {by}) AS count, _t - {params.add(rule.threshold.within_ns)} - 1 AS _before
    FROM matched
)
SELECT {_output(c)}, [{params.add(rule.id)}] AS rules, e.count AS count FROM (
    SELECT {_fields(c, "a.")}, a.count AS count
    FROM counted AS a ASOF LEFT JOIN counted AS b ON {" AND ".join(f"a._k{i} = b._k{i}" for i in range(len(keys)))}
        AND a._before >= b._t
    WHERE a._upto - ifNull(b._upto, 0) >= {params.add(rule.threshold.count)}
    QUALIFY row_number() OVER (PARTITION BY {", ".join(f"a._k{i}" for i in range(len(keys)))} ORDER BY a._t, a.id) = 1
) AS e {_among(ids, params, "WHERE")}"""
    return sql, params


def _sequence_scan(rule: Rule, sources: Sequence[str], ids: Sequence[str] | None) -> tuple[str, Params]:
    """The first event of the window, per key, of a sequence rule's last step that an event of
    each earlier step preceded, in order, with the same key values (and cluster), all within
    the rule's span; with the id of the first step's event (`first_step`)."""
    assert rule.sequence is not None
    params = Params()
    steps = rule.sequence.steps
    within = params.add(rule.sequence.within_ns)
    n_keys = len(steps[0].key)
    ctes = []
    for n, (step, source) in enumerate(zip(steps, sources, strict=True)):
        c = CLASS_BY_TABLE[step.table]
        keys = [column(k, params) for k in step.key]
        last = n == len(steps) - 1
        columns = _fields(c) if last else "`id` AS _id, `cluster` AS _cluster"
        early = "" if last else f" - {within}"
        matched = " AND ".join(
            [
                _IN_WINDOW.format(early=early),
                predicate(step.kinds, step.condition, c, params),
                *(f"{k} IS NOT NULL" for k in keys),
            ]
        )
        ctes.append(f"""{"l" if last else f"s{n}"} AS (
    SELECT {columns}, toUnixTimestamp64Nano(`time`) AS _t, {", ".join(f"{k} AS _k{i}" for i, k in enumerate(keys))}
    FROM {_final(source, matched)}
)""")
    earlier = [f"s{n}" for n in range(len(steps) - 1)]
    joins = " ".join(
        f"JOIN {s} ON {s}._cluster = l.cluster AND " + " AND ".join(f"{s}._k{i} = l._k{i}" for i in range(n_keys))
        for s in earlier
    )
    times = [*(f"{s}._t" for s in earlier), "l._t"]
    event_ids = [*(f"{s}._id" for s in earlier), "l.id"]
    order = " AND ".join(
        [f"{earlier[0]}._t >= l._t - {within}"]
        + [f"{a} <= {b}" for a, b in itertools.pairwise(times)]
        + [f"{a} <> {b}" for a, b in itertools.pairwise(event_ids)]
    )
    per_key = ", ".join(f"l._k{i}" for i in range(n_keys))
    last_class = CLASS_BY_TABLE[steps[-1].table]
    sql = f"""WITH {", ".join(ctes)}
SELECT {_output(last_class)}, [{params.add(rule.id)}] AS rules, e.first_step AS first_step FROM (
    SELECT {_fields(last_class, "l.")}, {earlier[0]}._id AS first_step
    FROM l {joins}
    WHERE {order}
    QUALIFY row_number() OVER (PARTITION BY l.cluster, {per_key} ORDER BY l._t, l.id, {earlier[0]}._t DESC) = 1
) AS e {_among(ids, params, "WHERE")}"""
    return sql, params
