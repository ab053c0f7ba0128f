"""Rule conditions (kubetrail/rules, docs/rules.md) compiled into DuckDB SQL: a boolean
expression per rule over the columns of its class table, every value a bound parameter.

A leaf is never NULL (a null field matches nothing but `null`/`exists: false`), so `not` is plain
negation; a leaf over a list column holds when it holds for any element."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from kubetrail.model import CLASSES, EventClass
from kubetrail.rules import Rule, Step, field_type
from kubetrail.store.ddl import candidate_fields

_DERIVED: Final = {  # rules.DERIVED's fields
    "binary_name": "regexp_extract(\"binary\", '[^/]*$')",
    "binary_dir": (
        "CASE WHEN regexp_matches(\"binary\", '^/+[^/]*$') THEN '/' "
        "ELSE rtrim(regexp_extract(\"binary\", '^(.*/)[^/]*$', 1), '/') END"
    ),
    "service_account_namespace": "split_part(\"service_account\", '/', 1)",
    "authenticated_user": 'coalesce("impersonated_by", "actor")',
}
# An IPv4 address as a number (NULL when the text is none), for CIDR ranges.
_IPV4: Final = (
    "CASE WHEN regexp_full_match({x}, '[0-9]{{1,3}}(\\.[0-9]{{1,3}}){{3}}') THEN "
    "list_reduce(list_transform(string_split({x}, '.'), lambda o: o::UBIGINT), lambda a, b: a * 256 + b) END"
)
# An IPv6 address in hex groups (`::` expanded; not the IPv4-mapped form) as a 128-bit number.
_GROUPS: Final = (
    "CASE WHEN split_part({x}, '::', {n}) = '' THEN []::VARCHAR[] ELSE string_split(split_part({x}, '::', {n}), ':') END"
)
_IPV6: Final = (
    "CASE WHEN regexp_full_match({x}, '[0-9a-fA-F:]*:[0-9a-fA-F:]*') THEN list_reduce(list_transform("
    "CASE WHEN contains({x}, '::') THEN {head} || list_transform(range(8 - len({head}) - len({tail})), lambda i: '0') || {tail} "
    "ELSE string_split({x}, ':') END, lambda g: TRY_CAST('0x' || g AS UHUGEINT)), lambda a, b: a * 65536 + b) END"
)


@dataclass
class Params:
    """The values a compiled statement binds, named p0, p1, ..."""

    values: dict[str, Any] = field(default_factory=dict)

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


# How a condition's leaf (a field and its matcher) becomes SQL: each engine has its own.
Leaf = Callable[[str, Any, EventClass, Any], str]


def predicate(
    kinds: Sequence[str], condition: Mapping[str, Any], cls: EventClass, params: Params, leaf: Leaf | None = None
) -> str:
    """The SQL of one rule: its kinds (when not all of its class) and its condition, whose
    leaves `leaf` compiles (DuckDB's by default; store/clickhouse_rules.py has ClickHouse's)."""
    sql = _condition(condition, cls, params, leaf or _leaf)
    if set(kinds) != set(cls.kinds):
        sql = f"(kind IN ({', '.join(params.add(k) for k in kinds)}) AND {sql})"
    return sql


def _condition(cond: Mapping[str, Any], cls: EventClass, params: Params, leaf: Leaf) -> str:
    parts = []
    for key, value in cond.items():
        if key == "all":
            parts.append(_join([_condition(c, cls, params, leaf) for c in value], "AND"))
        elif key == "any":
            parts.append(_join([_condition(c, cls, params, leaf) for c in value], "OR"))
        elif key == "not":
            parts.append(f"(NOT {_condition(value, cls, params, leaf)})")
        else:
            parts.append(leaf(key, value, cls, params))
    return _join(parts, "AND")


def merge_matches(found: dict[str, dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """A rule scan's rows into `found`, one per event: the rules of an event already found are
    added to its row (a rule scan of either engine)."""
    for row in rows:
        had = found.setdefault(row["id"], row)
        if had is not row:
            had["rules"] = had["rules"] + row["rules"]


def _join(parts: list[str], op: str) -> str:
    return parts[0] if len(parts) == 1 else "(" + f" {op} ".join(parts) + ")"


def column(name: str, params: Params) -> str:
    """A field (derived ones and `extra.PATH` included) as SQL."""
    if name.startswith("extra."):
        pointer = "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in name.removeprefix("extra.").split("."))
        return f'json_extract_string("extra", {params.add(pointer)})'
    return _DERIVED.get(name, f'"{name}"')


def _leaf(name: str, matcher: Any, cls: EventClass, params: Params) -> str:
    sql_type = field_type(cls, name) or "VARCHAR"
    col = column(name, params)
    is_list = sql_type.endswith("[]")
    if matcher is None or (isinstance(matcher, dict) and "exists" in matcher):
        present = f"len(coalesce({col}, [])) > 0" if is_list else f"{col} IS NOT NULL"
        return present if isinstance(matcher, dict) and matcher["exists"] else f"(NOT {present})"
    one = _one("x" if is_list else col, matcher, name, params)
    if is_list:
        return f"coalesce(list_bool_or(list_transform({col}, lambda x: {one})), false)"
    return f"coalesce({one}, false)"


def _one(x: str, matcher: Any, name: str, params: Params) -> str:
    """The matcher over one value `x` (NULL when `x` is)."""
    text = name.startswith("extra.")  # a JSON value compares as its text: true -> 'true'
    if not isinstance(matcher, dict):
        values = matcher if isinstance(matcher, list) else [matcher]
        return f"{x} IN ({', '.join(params.add(_value(v, text)) for v in values)})"
    ((op, arg),) = matcher.items()
    if op == "wildcard":
        likes = [f"{x} LIKE {params.add(_like(w))} ESCAPE '\\'" for w in ([arg] if isinstance(arg, str) else arg)]
        return _join(likes, "OR")
    if op == "regex":
        return f"regexp_matches({x}, {params.add(arg)})"
    if op == "cidr":
        ranges = []
        for c in [arg] if isinstance(arg, str) else arg:
            net = ipaddress.ip_network(c, strict=False)
            if net.version == 4:
                low, high = params.add(int(net.network_address)), params.add(int(net.broadcast_address))
                ranges.append(f"({_IPV4.format(x=x)}) BETWEEN {low} AND {high}")
            else:  # 128-bit bounds, bound as text: a parameter holds 64 bits
                low, high = params.add(str(int(net.network_address))), params.add(str(int(net.broadcast_address)))
                number = _IPV6.format(x=x, head=_GROUPS.format(x=x, n=1), tail=_GROUPS.format(x=x, n=2))
                ranges.append(f"({number}) BETWEEN {low}::UHUGEINT AND {high}::UHUGEINT")
        return _join(ranges, "OR")
    if op == "field":
        return f"{x} = {column(arg, params)}"
    sign = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
    return f"{x} {sign} {params.add(arg)}"


def _value(v: Any, text: bool) -> Any:
    if not text:
        return v
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


_LIKE: Final = str.maketrans({"*": "%", "?": "_", "%": "\\%", "_": "\\_", "\\": "\\\\"})


def _like(wildcard: str) -> str:
    """`*` and `?` as LIKE's `%` and `_`; LIKE's own characters taken literally."""
    return wildcard.translate(_LIKE)


@dataclass(frozen=True)
class Covered:
    """A rule the store keeps the candidates of: what it selects, and its digest then."""

    rule_id: str
    table: str
    digest: str
    kinds: tuple[str, ...]
    condition: Mapping[str, Any]

    @staticmethod
    def of(rules: Sequence[Rule]) -> list[Covered]:
        return [Covered(name, s.table, s.digest(), s.kinds, s.condition) for r in rules for name, s in r.selections()]

    @staticmethod
    def read(rule_id: str, table: str, digest: str, definition: str) -> Covered:
        """A row of `rule_coverage`."""
        d = json.loads(definition)
        return Covered(rule_id, table, digest, tuple(d["kinds"]), d["condition"])

    def row(self) -> tuple[str, str, str, str]:
        """As `rule_coverage` keeps it: the definition is what the writers compile."""
        return self.rule_id, self.table, self.digest, json.dumps({"kinds": self.kinds, "condition": self.condition})


class Coverage:
    """The rules a store covers, and the statements that keep their candidates: with each batch
    of new events, and all at once when the covered rules change."""

    def __init__(
        self, covered: Sequence[Covered], compiler: Callable[..., str] | None = None, params: type[Params] | None = None
    ) -> None:
        """`compiler` and `params`: another engine's `predicate` and `Params` (clickhouse_rules)."""
        self.digests = {c.rule_id: c.digest for c in covered}
        self._filters: dict[str, tuple[str, dict[str, Any]]] = {}  # table -> (predicate, params)
        for cls in CLASSES:
            bound = (params or Params)()
            mine = [(compiler or predicate)(c.kinds, c.condition, cls, bound) for c in covered if c.table == cls.table]
            if mine:
                self._filters[cls.table] = (_join(mine, "OR"), bound.values)

    def covers(self, rule_id: str, digest: str) -> bool:
        return self.digests.get(rule_id) == digest

    def source(self, name: str, step: Step) -> str:
        """Where a selection's events are (Rule.selections): its candidates when covered, else
        its class table."""
        return f"{step.table}_candidates" if self.covers(name, step.digest()) else step.table

    def statements(self, source: str, kinds: set[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
        """INSERTs of the candidates in `source` (a batch of new events, or each class's table:
        `{table}`) into each class's candidate table, for the classes of `kinds` (None: all)."""
        out = []
        for cls in CLASSES:
            if cls.table not in self._filters or (kinds is not None and kinds.isdisjoint(cls.kinds)):
                continue
            where, params = self._filters[cls.table]
            columns = ", ".join(f'"{f}"' for f in candidate_fields(cls))
            kinds_sql = ", ".join(f"'{k}'" for k in cls.kinds)  # from the catalog, not from a rule
            sql = (
                f"INSERT INTO {cls.table}_candidates SELECT {columns} FROM {source.format(table=cls.table)} "
                f"WHERE kind IN ({kinds_sql}) AND {where}"
            )
            out.append((sql, params))
        return out
