"""`kubetrail rules import-sigma`: Sigma rules for Kubernetes audit logs (`logsource: product:
kubernetes, service: audit`) as kubetrail rules, through pySigma: a processing pipeline that maps
Sigma's field names to kubetrail's (docs/fields.md), and a backend whose conversion result is a
kubetrail condition. A rule with a field, modifier or value kubetrail cannot map is refused with
pySigma's reason, never half-converted; correlation rules are out of scope.

Sigma matches strings regardless of case unless `|cased`; so does the conversion (a regex with
`(?i)`), except where Kubernetes itself allows only lower case (verbs, resources, namespaces,
names) and the value is lower case: there equality means the same and reads better.

pySigma is an optional dependency: `pip install 'kubetrail[sigma]'`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final

from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.base import Backend
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaFeatureNotSupportedByBackendError
from sigma.processing.conditions import LogsourceCondition, RuleProcessingCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

# Sigma's fields of a Kubernetes audit event (the event's own JSON paths) -> kubetrail's.
FIELDS: Final = {
    "verb": "verb",
    "objectRef.resource": "resource",
    "objectRef.subresource": "subresource",
    "objectRef.namespace": "namespace",
    "objectRef.name": "object_name",
    "objectRef.apiGroup": "api_group",
    "user.username": "authenticated_user",
    "user.groups": "actor_groups",
    "sourceIPs": "source_ips",
    "userAgent": "user_agent",
    "responseStatus.code": "code",
    "requestURI": "request_uri",
    "stage": "stage",
    "level": "audit_level",
    "auditID": "audit_id",
    "annotations.authorization.k8s.io/decision": "decision",
    "annotations.authorization.k8s.io/reason": "reason",
}
_LOWER_CASE_ONLY: Final = frozenset({"verb", "resource", "subresource", "namespace", "object_name", "api_group"})
_LEVELS: Final = {"informational": "low", "low": "low", "medium": "medium", "high": "high", "critical": "critical"}
_TECHNIQUE: Final = re.compile(r"^t(\d{4})(?:\.(\d{3}))?$")
_OPS: Final = {CompareOperators.LT: "lt", CompareOperators.LTE: "lte", CompareOperators.GT: "gt", CompareOperators.GTE: "gte"}


def pipeline() -> ProcessingPipeline:
    audit: list[RuleProcessingCondition] = [LogsourceCondition(product="kubernetes", service="audit")]
    mapping: dict[str | None, str | list[str]] = {sigma: ours for sigma, ours in FIELDS.items()}
    fields = ProcessingItem(FieldMappingTransformation(mapping), rule_conditions=audit, identifier="kubetrail_fields")
    return ProcessingPipeline(name="kubetrail: Kubernetes audit fields", priority=20, items=[fields])


class KubetrailBackend(Backend):
    """Converts a Sigma rule's condition into a kubetrail condition (a mapping, docs/rules.md)."""

    name: ClassVar[str] = "kubetrail"
    formats: ClassVar[dict[str, str]] = {"default": "kubetrail rule conditions"}

    # -- boolean structure ----------------------------------------------------------------------
    def convert_condition_or(self, cond: ConditionOR, state: ConversionState) -> Any:
        return {"any": [self.convert_condition(c, state) for c in cond.args]}

    def convert_condition_and(self, cond: ConditionAND, state: ConversionState) -> Any:
        return {"all": [self.convert_condition(c, state) for c in cond.args]}

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        return {"not": self.convert_condition(cond.args[0], state)}

    def convert_condition_as_in_expression(self, cond: ConditionOR | ConditionAND, state: ConversionState) -> Any:
        return self.convert_condition_or(cond, state)  # type: ignore[arg-type]

    # -- a field and a value ----------------------------------------------------------------------
    def convert_condition_field_eq_val_str(self, cond: ConditionFieldEqualsValueExpression, state: ConversionState) -> Any:
        return {_field(cond.field): _string(cond.value, _field(cond.field), cased=False)}

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        return {_field(cond.field): _string(cond.value, _field(cond.field), cased=True)}

    def convert_condition_field_eq_val_num(self, cond: ConditionFieldEqualsValueExpression, state: ConversionState) -> Any:
        assert isinstance(cond.value, SigmaNumber)
        return {_field(cond.field): cond.value.number}

    def convert_condition_field_eq_val_bool(self, cond: ConditionFieldEqualsValueExpression, state: ConversionState) -> Any:
        assert isinstance(cond.value, SigmaBool)
        return {_field(cond.field): cond.value.boolean}

    def convert_condition_field_eq_val_re(self, cond: ConditionFieldEqualsValueExpression, state: ConversionState) -> Any:
        value = cond.value
        assert isinstance(value, SigmaRegularExpression)
        if value.flags - {SigmaRegularExpressionFlag.IGNORECASE}:
            raise SigmaFeatureNotSupportedByBackendError("regular expression flags other than i (ignore case)")
        prefix = "(?i)" if value.flags else ""
        return {_field(cond.field): {"regex": prefix + str(value.regexp)}}

    def convert_condition_field_eq_val_cidr(self, cond: ConditionFieldEqualsValueExpression, state: ConversionState) -> Any:
        assert isinstance(cond.value, SigmaCIDRExpression)
        return {_field(cond.field): {"cidr": cond.value.cidr}}

    def convert_condition_field_compare_op_val(self, cond: ConditionFieldEqualsValueExpression, state: ConversionState) -> Any:
        value = cond.value
        assert isinstance(value, SigmaCompareExpression)
        if value.op == CompareOperators.NEQ:
            return {"not": {_field(cond.field): value.number.number}}
        return {_field(cond.field): {_OPS[value.op]: value.number.number}}

    def convert_condition_field_eq_field(self, cond: ConditionFieldEqualsValueExpression, state: ConversionState) -> Any:
        value = cond.value
        assert isinstance(value, SigmaFieldReference)
        if value.starts_with or value.ends_with:
            raise SigmaFeatureNotSupportedByBackendError("fieldref with startswith or endswith")
        return {_field(cond.field): {"field": _field(value.field)}}

    def convert_condition_field_eq_val_null(self, cond: ConditionFieldEqualsValueExpression, state: ConversionState) -> Any:
        assert isinstance(cond.value, SigmaNull)
        return {_field(cond.field): None}

    def convert_condition_field_exists(self, cond: ConditionFieldEqualsValueExpression, state: ConversionState) -> Any:
        return {_field(cond.field): {"exists": True}}

    def convert_condition_field_not_exists(self, cond: ConditionFieldEqualsValueExpression, state: ConversionState) -> Any:
        return {_field(cond.field): {"exists": False}}

    # -- what kubetrail cannot express ------------------------------------------------------------
    def convert_condition_field_eq_val_timestamp_part(self, cond: Any, state: ConversionState) -> Any:
        raise SigmaFeatureNotSupportedByBackendError("timestamp part modifiers (minute, hour, ...)")

    def convert_condition_field_eq_query_expr(self, cond: Any, state: ConversionState) -> Any:
        raise SigmaFeatureNotSupportedByBackendError("query expressions")

    def convert_condition_val_str(self, cond: ConditionValueExpression, state: ConversionState) -> Any:
        raise SigmaFeatureNotSupportedByBackendError("keywords (a value without a field)")

    def convert_condition_val_num(self, cond: ConditionValueExpression, state: ConversionState) -> Any:
        raise SigmaFeatureNotSupportedByBackendError("keywords (a value without a field)")

    def convert_condition_val_re(self, cond: ConditionValueExpression, state: ConversionState) -> Any:
        raise SigmaFeatureNotSupportedByBackendError("keywords (a value without a field)")

    def convert_condition_query_expr(self, cond: Any, state: ConversionState) -> Any:
        raise SigmaFeatureNotSupportedByBackendError("query expressions")

    def _correlation(self, *_: Any, **__: Any) -> list[Any]:
        raise SigmaFeatureNotSupportedByBackendError("correlation rules")

    convert_correlation_event_count_rule = _correlation
    convert_correlation_value_count_rule = _correlation
    convert_correlation_temporal_rule = _correlation
    convert_correlation_temporal_ordered_rule = _correlation
    convert_correlation_value_sum_rule = _correlation
    convert_correlation_value_avg_rule = _correlation
    convert_correlation_value_percentile_rule = _correlation
    convert_correlation_value_median_rule = _correlation
    convert_correlation_extended_temporal_rule = _correlation
    convert_correlation_extended_temporal_ordered_rule = _correlation


def _field(name: str) -> str:
    """A field after the pipeline's mapping: one of kubetrail's, else refused."""
    if name not in FIELDS.values():
        raise SigmaFeatureNotSupportedByBackendError(
            f"field {name!r} has no kubetrail field (docs/rules.md: the Sigma fields mapped)"
        )
    return name


def _string(value: Any, field: str, cased: bool) -> Any:
    """A Sigma string as a kubetrail matcher: equality or wildcard when case does not matter (or
    is asked for), else a case-insensitive regex."""
    assert isinstance(value, SigmaString)
    parts = [p for p in value.s if isinstance(p, str | SpecialChars)]
    if len(parts) != len(value.s):
        raise SigmaFeatureNotSupportedByBackendError("placeholders (expand modifier)")
    literal = [p for p in parts if isinstance(p, str)]
    lower = all(p == p.lower() for p in literal)
    plain_wildcard = not any(("*" in p or "?" in p) for p in literal)
    if (cased or isinstance(value, SigmaCasedString) or (field in _LOWER_CASE_ONLY and lower)) and plain_wildcard:
        if not value.contains_special():
            return value.to_plain()
        return {"wildcard": "".join(p if isinstance(p, str) else _WILDCARD[p] for p in parts)}
    pattern = "".join(re.escape(p) if isinstance(p, str) else _REGEX[p] for p in parts)
    return {"regex": ("" if cased else "(?i)") + f"^{pattern}$"}


_WILDCARD: Final = {SpecialChars.WILDCARD_MULTI: "*", SpecialChars.WILDCARD_SINGLE: "?"}
_REGEX: Final = {SpecialChars.WILDCARD_MULTI: ".*", SpecialChars.WILDCARD_SINGLE: "."}


@dataclass(frozen=True, slots=True)
class Converted:
    source: str  # file of the Sigma rule
    title: str
    rule: dict[str, Any] | None  # the kubetrail rule, or None when refused
    refused: str | None = None


def convert(paths: Sequence[Path]) -> list[Converted]:
    """Each Sigma rule of the files (several documents to a file allowed), converted or refused."""
    out = []
    backend = KubetrailBackend(pipeline())
    for path in paths:
        try:
            collection = SigmaCollection.from_yaml(path.read_text(), collect_errors=True)
        except (OSError, SigmaError) as exc:
            out.append(Converted(str(path), "?", None, f"not a Sigma rule file: {exc}"))
            continue
        for rule in collection.rules:
            out.append(_one(backend, path, rule))
    return out


def _one(backend: KubetrailBackend, path: Path, rule: SigmaRule | SigmaCorrelationRule) -> Converted:
    title = str(getattr(rule, "title", "?"))
    if isinstance(rule, SigmaCorrelationRule):
        return Converted(str(path), title, None, "correlation rules are out of scope")
    if rule.errors:
        return Converted(str(path), title, None, "; ".join(str(e) for e in rule.errors))
    logsource = rule.logsource
    if (logsource.product, logsource.service) != ("kubernetes", "audit"):
        return Converted(
            str(path), title, None, "not a rule for Kubernetes audit logs (logsource product: kubernetes, service: audit)"
        )
    try:
        conditions = backend.convert_rule(rule)
    except SigmaError as exc:
        return Converted(str(path), title, None, str(exc))
    if len(conditions) != 1:
        return Converted(str(path), title, None, "a rule of several conditions")
    return Converted(str(path), title, _rule(rule, _simplified(conditions[0])))


def _rule(rule: SigmaRule, condition: dict[str, Any]) -> dict[str, Any]:
    ident = str(rule.id) if rule.id else re.sub(r"[^a-z0-9]+", "-", rule.title.lower()).strip("-")
    techniques = [
        f"T{m[1]}" + (f".{m[2]}" if m[2] else "")
        for tag in rule.tags if tag.namespace == "attack" and (m := _TECHNIQUE.match(tag.name))
    ]  # fmt: skip
    out: dict[str, Any] = {
        "id": f"sigma-{ident}",
        "title": rule.title,
        "description": (rule.description or rule.title).strip() + f" (imported from Sigma rule {ident})",
        "severity": _LEVELS.get(str(rule.level.name).lower() if rule.level else "", "medium"),
    }
    if techniques:
        out["techniques"] = techniques
    return out | {"class": "api_calls", "condition": condition, "reason": rule.title}


def _simplified(cond: dict[str, Any]) -> dict[str, Any]:
    """One `all` or `any` of one condition is that condition; an `all` of matchers on different
    fields is one mapping; an `any` of values of one field is a list."""
    if len(cond) == 1 and (key := next(iter(cond))) in ("all", "any"):
        parts = [_simplified(c) for c in cond[key]]
        if len(parts) == 1:
            return parts[0]
        if key == "all" and _disjoint(parts):
            return {k: v for p in parts for k, v in p.items()}
        fields = {f for p in parts for f in p}
        if (
            key == "any"
            and len(fields) == 1
            and fields.isdisjoint(("all", "any", "not"))
            and all(len(p) == 1 and isinstance(v, str | int | float) for p in parts for v in p.values())
        ):
            (field,) = fields
            return {field: [p[field] for p in parts]}
        return {key: parts}
    if "not" in cond and len(cond) == 1:
        return {"not": _simplified(cond["not"])}
    return cond


def _disjoint(parts: Iterable[dict[str, Any]]) -> bool:
    seen: set[str] = set()
    for p in parts:
        if seen & set(p):
            return False
        seen |= set(p)
    return True
