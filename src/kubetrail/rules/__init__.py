"""Detections as data: rules read from YAML files (docs/rules.md), checked once against their
JSON Schema and the field catalog, into frozen `Rule`s. Each store engine compiles their
conditions into its own SQL (store/duckdb_rules.py); the answers render a match's reason from
the event's fields.

The built-in rules ship in `builtin/*.yaml`; `--rules DIR` adds a user's, and a user rule with a
built-in's id replaces it. Macros (named conditions) are shared by every file of a rule set.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

import yaml

from kubetrail.model import CLASSES, SOURCES, EventClass, catalog
from kubetrail.rules.detectors import Detectors, merged

BUILTIN_DIR: Final = Path(__file__).parent / "builtin"
SCHEMA_PATH: Final = Path(__file__).parent / "rules.schema.json"
# Bumped when the SQL a condition compiles to changes meaning: a store's candidate tables built
# by an older compiler are then rebuilt (Rule.digest).
COMPILER_VERSION: Final = 1
CLASS_BY_TABLE: Final = {c.table: c for c in CLASSES}
_TYPES: Final = {f.name: f.sql.replace(" NOT NULL", "") for f in catalog()}
_NUMERIC: Final = frozenset({"INTEGER", "BIGINT", "UBIGINT", "DOUBLE"})


class RuleError(ValueError):
    """A rule file that cannot be used; the message names the file, line and what is wrong."""


@dataclass(frozen=True, slots=True)
class Sample:
    """A raw producer record a rule's inline test gives, and where it is written."""

    source: str
    record: Mapping[str, Any]
    where: str  # file:line


@dataclass(frozen=True, slots=True)
class Threshold:
    """A rule that fires on the `count`-th of its matching events that share the values of `by`
    within `within_ns`: once per group in a window, on that event."""

    count: int
    by: tuple[str, ...]
    within_ns: int


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a sequence rule: the events of a class its condition matches, linked to the
    other steps by the values of `key`."""

    table: str
    kinds: tuple[str, ...]
    condition: Mapping[str, Any]
    key: tuple[str, ...]

    def digest(self) -> str:
        what = {"v": COMPILER_VERSION, "table": self.table, "kinds": self.kinds, "condition": self.condition}
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Chain:
    """A rule that fires on its last step's event when an event of each earlier step came
    before it, in order, with the same key values, all within `within_ns`."""

    within_ns: int
    steps: tuple[Step, ...]  # the last is the rule's own table, kinds and condition


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    description: str
    severity: str
    techniques: tuple[str, ...]
    table: str  # the event class it reads (model.CLASSES)
    kinds: tuple[str, ...]
    condition: Mapping[str, Any]  # with macros expanded: the engine compiles it as it is
    reason: str
    why: str
    origin: str  # file:line of its id
    builtin: bool
    matches: tuple[Sample, ...] = ()
    no_matches: tuple[Sample, ...] = ()
    threshold: Threshold | None = None
    sequence: Chain | None = None

    @property
    def digest(self) -> str:
        """What the rule selects, as a hash: the same digest, the same events."""
        return Step(self.table, self.kinds, self.condition, ()).digest()

    def selections(self) -> list[tuple[str, Step]]:
        """What a store keeps candidates of for this rule: (name, step); a sequence's earlier
        steps as `ID#N`."""
        own = Step(self.table, self.kinds, self.condition, ())
        if self.sequence is None:
            return [(self.id, own)]
        *earlier, _ = self.sequence.steps
        return [*((f"{self.id}#{n}", step) for n, step in enumerate(earlier)), (self.id, own)]

    def render(self, template: str, event: Mapping[str, Any]) -> str:
        """A reason with the event's fields in it ('denied (403)')."""
        return string.Formatter().vformat(template, (), _Fields(event))


# Fields a rule may read beyond its class's columns: the column each needs, and its value for a
# reason template (each engine computes them in its SQL: store/duckdb_rules.py).
DERIVED: Final[dict[str, tuple[str, Callable[[Mapping[str, Any]], Any]]]] = {
    "binary_name": ("binary", lambda e: posixpath.basename(e.get("binary") or "")),
    "binary_dir": ("binary", lambda e: posixpath.dirname(e.get("binary") or "")),
    "service_account_namespace": ("service_account", lambda e: (e.get("service_account") or "?").split("/", 1)[0]),
    "authenticated_user": ("impersonated_by", lambda e: e.get("impersonated_by") or e.get("actor")),  # who authenticated
}


class _Fields(dict[str, Any]):
    """An event's fields for a reason template: derived fields computed, null shown as '?'."""

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key) if key in self else DERIVED[key][1](self)
        return "?" if value is None else value


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    detectors: Detectors = field(default_factory=Detectors)

    def of(self, table: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.table == table)

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    def matched(self, ids: Iterable[str]) -> list[Rule]:
        """The rules of these ids (a row of Store.rule_matches), once each, in the set's order."""
        wanted = set(ids)
        return [r for r in self.rules if r.id in wanted]

    def selections(self) -> dict[str, str]:
        """What a store covering these rules keeps candidates of: name -> digest (Rule.selections)."""
        return {name: step.digest() for r in self.rules for name, step in r.selections()}


def load(paths: Sequence[str | Path] = ()) -> RuleSet:
    """The built-in rules, then each path's: a rule file, or a directory's `*.yaml` (sorted). A
    user's rule with a built-in's id replaces it; two built-ins, or two of the user's, with one id
    are an error. Raises RuleError on the first file or rule that is wrong."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files += sorted(path.glob("*.yaml"))
        elif path.is_file():
            files.append(path)
        else:
            raise RuleError(f"{path}: no rule file or directory of rule files there")
    docs = [*_builtin_docs(), *((p, False, *_read(p)) for p in files)]
    macros: dict[str, _Macro] = {}
    for p, _, data, node in docs:
        for name, cond in (data.get("macros") or {}).items():
            macros[name] = _Macro(cond, _Locator(p, node, ("macros", name)))
    detectors = Detectors()
    for p, _, data, node in docs:
        if "detectors" in data:
            detectors = merged(detectors, data["detectors"], _where(p, node, ("detectors",)))
    found: dict[str, Rule] = {}
    for p, builtin, data, node in docs:
        for i, raw in enumerate(data.get("rules") or []):
            rule = _rule(p, node, i, raw, macros, builtin)
            if (twice := found.get(rule.id)) is not None and twice.builtin == rule.builtin:
                raise RuleError(f"{rule.origin}: rule {rule.id}: the id of the rule at {twice.origin} too")
            found[rule.id] = rule  # a user's rule takes the place of the built-in it replaces
    return RuleSet(tuple(found.values()), detectors)


@cache
def builtin() -> RuleSet:
    return load()


@cache
def _builtin_docs() -> tuple[tuple[Path, bool, dict[str, Any], yaml.Node], ...]:
    """The built-in files, read and checked once a process."""
    return tuple((p, True, *_read(p)) for p in sorted(BUILTIN_DIR.glob("*.yaml")))


def _read(path: Path) -> tuple[dict[str, Any], yaml.Node]:
    try:
        text = path.read_text()
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            _no_repeated_keys(path, node)
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: cannot read: {exc}") from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise RuleError(f"{path}{line}: not YAML: {exc.problem}") from exc
    if data is None or node is None:
        return {}, yaml.MappingNode("tag:yaml.org,2002:map", [])
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        e = _deepest(errors[0])
        at = tuple(e.absolute_path)
        # The one `not` of the schema: a rule of a class and condition, or a sequence (docs/rules.md).
        message = "give class and condition (kinds, threshold), or a sequence, not both" if e.validator == "not" else e.message
        raise RuleError(f"{_where(path, node, at)}: {_path_text(at)}{message}")
    return data, node


def _no_repeated_keys(path: Path, node: yaml.Node) -> None:
    """A key given twice in one mapping (two `not:` in a condition): YAML keeps the last one
    silently, so half of what was written would not be checked."""
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key, value in node.value:
            if key.value in seen:
                raise RuleError(
                    f"{path}:{key.start_mark.line + 1}: {key.value!r} given twice in one mapping: join them (all: [...])"
                )
            seen.add(key.value)
            _no_repeated_keys(path, value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _no_repeated_keys(path, item)


def _deepest(error: Any) -> Any:
    """Of a `oneOf` that failed, the branch error that went deepest: it says what is wrong."""
    while error.context:
        error = max(error.context, key=lambda e: len(e.absolute_path))
    return error


@cache
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def _where(path: Path, node: yaml.Node, at: Iterable[Any]) -> str:
    """file:line of the value at `at` in the document (the nearest node that has one)."""
    for key in at:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
        else:
            child = None
        if child is None:
            break
        node = child
    return f"{path}:{node.start_mark.line + 1}"


def _path_text(at: tuple[Any, ...]) -> str:
    return ".".join(str(k) if isinstance(k, str) else f"[{k}]" for k in at).replace(".[", "[") + ": " if at else ""


@dataclass(frozen=True, slots=True)
class _Locator:
    """Where a part of a document is: file:line of a key path under `at`."""

    path: Path
    node: yaml.Node
    at: tuple[Any, ...]

    def __call__(self, *more: Any) -> str:
        return _where(self.path, self.node, (*self.at, *more))


@dataclass(frozen=True, slots=True)
class _Macro:
    condition: Mapping[str, Any]
    locate: _Locator


def _rule(path: Path, node: yaml.Node, i: int, raw: dict[str, Any], macros: dict[str, _Macro], builtin: bool) -> Rule:
    where = _where(path, node, ("rules", i))
    sequence = _sequence(path, node, i, raw, macros)
    if sequence is not None:
        last = sequence.steps[-1]
        cls, kinds, condition = CLASS_BY_TABLE[last.table], last.kinds, last.condition
    else:
        cls = CLASS_BY_TABLE[raw["class"]]
        kinds = _kinds(raw, cls, f"{where}: rule {raw['id']}")
        condition = _expand(raw["condition"], macros, _Locator(path, node, ("rules", i, "condition")), raw["id"], cls, ())
    rule = Rule(
        id=raw["id"], title=raw["title"], description=raw.get("description", ""), severity=raw["severity"],
        techniques=tuple(raw.get("techniques") or ()), table=cls.table, kinds=kinds, condition=condition,
        reason=raw["reason"], why=raw.get("why", raw["reason"]), origin=where, builtin=builtin,
        matches=_samples(path, node, i, raw, "match"), no_matches=_samples(path, node, i, raw, "no_match"),
        threshold=_threshold(raw.get("threshold"), cls, f"{_where(path, node, ('rules', i, 'threshold'))}: rule {raw['id']}"),
        sequence=sequence,
    )  # fmt: skip
    for template in {rule.reason, rule.why}:
        _check_template(template, cls, f"{where}: rule {rule.id}", counted=rule.threshold is not None)
    return rule


_UNITS: Final = {"s": 1, "m": 60, "h": 3600}


def _kinds(raw: Mapping[str, Any], cls: EventClass, where: str) -> tuple[str, ...]:
    kinds = tuple(raw.get("kinds") or cls.kinds)
    if wrong := [k for k in kinds if k not in cls.kinds]:
        raise RuleError(f"{where}: kinds {wrong} are not of class {cls.table} ({', '.join(cls.kinds)})")
    return kinds


def _ns(within: str) -> int:
    return int(within[:-1]) * _UNITS[within[-1]] * 1_000_000_000


def _sequence(path: Path, node: yaml.Node, i: int, raw: Mapping[str, Any], macros: dict[str, _Macro]) -> Chain | None:
    if "sequence" not in raw:
        return None
    steps = []
    for n, step in enumerate(raw["sequence"]["steps"]):
        at = ("rules", i, "sequence", "steps", n)
        where = f"{_where(path, node, at)}: rule {raw['id']}: step {n + 1}"
        cls = CLASS_BY_TABLE[step["class"]]
        condition = _expand(step["condition"], macros, _Locator(path, node, (*at, "condition")), raw["id"], cls, ())
        for name in step["key"]:
            sql = field_type(cls, name)
            if sql is None or sql.endswith("[]"):
                raise RuleError(f"{where}: key {name!r}: give single-valued fields of {cls.table}")
        steps.append(Step(cls.table, _kinds(step, cls, where), condition, tuple(step["key"])))
    if len({len(s.key) for s in steps}) != 1:
        where = _where(path, node, ("rules", i, "sequence"))
        raise RuleError(
            f"{where}: rule {raw['id']}: every step needs a key of as many fields (got {[list(s.key) for s in steps]})"
        )
    return Chain(_ns(raw["sequence"]["within"]), tuple(steps))


def _threshold(raw: Mapping[str, Any] | None, cls: EventClass, where: str) -> Threshold | None:
    if raw is None:
        return None
    for name in raw["by"]:
        sql = field_type(cls, name)
        if sql is None or sql.endswith("[]"):
            raise RuleError(f"{where}: threshold by {name!r}: give single-valued fields of {cls.table}")
    return Threshold(raw["count"], tuple(raw["by"]), _ns(raw["within"]))


def _samples(path: Path, node: yaml.Node, i: int, raw: dict[str, Any], key: str) -> tuple[Sample, ...]:
    given = (raw.get("tests") or {}).get(key) or []
    for j, s in enumerate(given):
        if s["source"] not in SOURCES:
            where = _where(path, node, ("rules", i, "tests", key, j, "source"))
            raise RuleError(f"{where}: rule {raw['id']}: no source named {s['source']!r} ({', '.join(SOURCES)})")
    return tuple(Sample(s["source"], s["record"], _where(path, node, ("rules", i, "tests", key, j))) for j, s in enumerate(given))


def _expand(
    cond: Mapping[str, Any], macros: dict[str, _Macro], locate: _Locator, rule: str, cls: EventClass, using: tuple[str, ...]
) -> dict[str, Any]:
    """The condition checked against the class (fields, matchers), with every {macro: NAME}
    replaced by the macro's condition (an inline `all`)."""
    out: dict[str, Any] = {}
    for key, value in cond.items():
        where = f"{locate(key)}: rule {rule}"
        if key == "macro":
            if value not in macros:
                raise RuleError(f"{where}: no macro named {value!r}")
            if value in using:
                raise RuleError(f"{where}: macro {value!r} uses itself ({' -> '.join((*using, value))})")
            m = macros[value]
            out.setdefault("all", []).append(_expand(m.condition, macros, m.locate, rule, cls, (*using, value)))
        elif key in ("all", "any"):
            out.setdefault(key, []).extend(
                _expand(c, macros, _Locator(locate.path, locate.node, (*locate.at, key, j)), rule, cls, using)
                for j, c in enumerate(value)
            )
        elif key == "not":
            out["not"] = _expand(value, macros, _Locator(locate.path, locate.node, (*locate.at, key)), rule, cls, using)
        else:
            _check_matcher(key, value, cls, where)
            out[key] = value
    return out


def field_type(cls: EventClass, name: str) -> str | None:
    """The SQL type of a field a rule of class `cls` may read (derived ones included), or None."""
    if name.startswith("extra.") and "extra" in cls.fields:
        return "VARCHAR"
    if name in DERIVED:
        return "VARCHAR" if DERIVED[name][0] in cls.fields else None
    return _TYPES[name] if name in cls.fields and name not in ("extra", "raw") else None


def _check_matcher(name: str, matcher: Any, cls: EventClass, where: str) -> None:
    """The field is one of the class, and the matcher fits its type."""
    sql = field_type(cls, name)
    if sql is None:
        raise RuleError(f"{where}: {name!r} is not a field of {cls.table} (docs/fields.md, docs/rules.md)")
    base = sql.removesuffix("[]")
    numeric = base in _NUMERIC
    if isinstance(matcher, dict):
        ((op, arg),) = matcher.items()
        if op in ("gt", "gte", "lt", "lte") and not numeric:
            raise RuleError(f"{where}: {name}: {op} needs a number field; {name} is {sql}")
        if op in ("wildcard", "regex", "cidr") and base != "VARCHAR":
            raise RuleError(f"{where}: {name}: {op} needs a text field; {name} is {sql}")
        if op == "field":
            other = field_type(cls, arg)
            if other is None:
                raise RuleError(f"{where}: {name}: {arg!r} is not a field of {cls.table}")
            if other.endswith("[]") or sql.endswith("[]"):
                raise RuleError(f"{where}: {name}: field compares two single values; {arg} or {name} is a list")
        if op == "regex":
            _check_regex(arg, f"{where}: {name}")
        if op == "cidr":
            for c in [arg] if isinstance(arg, str) else arg:
                _check_cidr(c, f"{where}: {name}")
        return
    for v in matcher if isinstance(matcher, list) else [matcher]:
        if v is None:
            continue
        if numeric and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise RuleError(f"{where}: {name}: {v!r} is not a number; {name} is {sql}")
        if base == "BOOLEAN" and not isinstance(v, bool):
            raise RuleError(f"{where}: {name}: {v!r} is not true or false; {name} is {sql}")
        if base == "VARCHAR" and not isinstance(v, str) and not name.startswith("extra."):
            raise RuleError(f"{where}: {name}: {v!r} is not text; quote it")


def _check_regex(pattern: str, where: str) -> None:
    """RE2, as the engines run it: what Python cannot compile either is surely wrong; the
    constructs RE2 lacks are named."""
    if re.search(r"\(\?[=!<]|\\[1-9]", pattern):
        raise RuleError(f"{where}: regex {pattern!r}: lookarounds and backreferences are not supported (RE2 syntax)")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise RuleError(f"{where}: regex {pattern!r}: {exc}") from exc


def _check_cidr(cidr: str, where: str) -> None:
    import ipaddress

    try:
        ipaddress.ip_network(cidr, strict=False)
    except ValueError as exc:
        raise RuleError(f"{where}: cidr {cidr!r}: {exc}") from exc


def _check_template(template: str, cls: EventClass, where: str, counted: bool = False) -> None:
    """Every {field} of a reason is one of the class's (and {count}, of a threshold rule)."""
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise RuleError(f"{where}: template {template!r}: {exc}") from exc
    for name in names:
        if counted and name == "count":
            continue
        if not name or field_type(cls, name) is None or name.startswith("extra."):
            raise RuleError(f"{where}: template {template!r}: {{{name}}} is not a field of {cls.table}")
