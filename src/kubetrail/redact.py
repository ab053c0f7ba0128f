"""Secret material is removed before anything is stored, quarantine included.

What is redacted (values become "<redacted>", keys are kept so responders see *which* secret
keys were touched):
- `data` and `stringData` of Secrets, SecretLists and of any object an audit event reports for
  the `secrets` resource (patch bodies carry no `kind`), JSON-patch values under those paths,
  and the `kubectl.kubernetes.io/last-applied-configuration` annotation of those objects;
- any `token` string (TokenReview `spec.token`, TokenRequest `status.token`);
- `Authorization`, `Proxy-Authorization`, `Cookie` and `Set-Cookie` headers, as Hubble's
  `{"key","value"}` lists, plain header maps, or OTel `http.request.header.*` attributes;
- the same inside JSON documents embedded as strings (AKS wraps the audit event in one).

The walk is only run on records whose text contains a marker (`needs_redaction`), so the
ingest hot path pays one substring scan per record.
"""

from __future__ import annotations

import re
from typing import Any, Final

import orjson

REDACTED: Final = "<redacted>"
# Text that must be present for a record to hold anything redactable: "Secret"/"secrets",
# "token", "Cookie" and an Authorization header name (as a whole JSON string, also escaped inside
# an embedded document). The audit annotation "authorization.k8s.io/decision", present on every
# audit event, deliberately does not match. Few, long needles: each `in` is a pass over the text.
_MARKERS: Final = (
    b"ecret",
    b"oken",
    b"ookie",
    b"OOKIE",
    b"Authorization",
    b'authorization"',
    b'authorization\\"',
    b"AUTHORIZATION",
)
_SENSITIVE_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
_SECRET_PATHS: Final = ("/data", "/stringData", "/metadata/annotations")


def needs_redaction(text: bytes) -> bool:
    return any(m in text for m in _MARKERS)


def redact(node: Any) -> bool:
    """Redact `node` (parsed JSON) in place; True when anything changed."""
    return _walk(node)


def _walk(node: Any) -> bool:
    if isinstance(node, dict):
        return _walk_dict(node)
    if isinstance(node, list):
        changed = False
        for item in node:
            changed |= _walk(item)
        return changed
    return False


def _walk_dict(d: dict[str, Any]) -> bool:
    changed = False
    kind = d.get("kind")
    if kind == "Secret":
        changed |= _redact_secret(d)
    elif kind == "SecretList":
        for item in d.get("items") or ():
            if isinstance(item, dict):
                changed |= _redact_secret(item)
    ref = d.get("objectRef")
    if isinstance(ref, dict) and ref.get("resource") == "secrets":
        for key in ("requestObject", "responseObject"):
            changed |= _redact_secret_body(d.get(key))
    if "value" in d and _is_sensitive_header_entry(d) and d["value"] != REDACTED:
        d["value"] = REDACTED  # {"key": "Authorization", "value": ...}: Hubble headers, OTel attributes
        changed = True
    for key, value in d.items():
        if isinstance(value, str):
            new = _redact_string(key, value)
            if new is not value:
                d[key] = new
                changed = True
        else:
            changed |= _walk(value)
    return changed


def _redact_string(key: str, value: str) -> str:
    lowered = key.lower()
    if lowered == "token" or lowered in _SENSITIVE_HEADERS or _is_header_attribute(lowered):
        return REDACTED if value else value
    if value[:1] in "{[" and needs_redaction(value.encode()):
        return _redact_embedded(value)
    return value


def _is_header_attribute(key: str) -> bool:
    # OTel semantic conventions: http.request.header.<name> / http.response.header.<name>
    return ".header." in key and key.rsplit(".", 1)[-1] in _SENSITIVE_HEADERS


def _is_sensitive_header_entry(parent: dict[str, Any]) -> bool:
    name = parent.get("key")
    return isinstance(name, str) and (name.lower() in _SENSITIVE_HEADERS or _is_header_attribute(name.lower()))


def _redact_embedded(text: str) -> str:
    try:
        inner = orjson.loads(text)
    except orjson.JSONDecodeError:
        return redact_text(text)
    return orjson.dumps(inner).decode() if _walk(inner) else text


def _redact_secret_body(body: Any) -> bool:
    if isinstance(body, dict):
        if isinstance(body.get("items"), list):
            return any([_redact_secret(i) for i in body["items"] if isinstance(i, dict)])
        return _redact_secret(body)
    if isinstance(body, list):  # JSON patch
        changed = False
        for op in body:
            if isinstance(op, dict) and str(op.get("path", "")).startswith(_SECRET_PATHS) and "value" in op:
                op["value"] = _mask(op["value"])
                changed = True
        return changed
    return False


def _redact_secret(obj: dict[str, Any]) -> bool:
    changed = False
    for key in ("data", "stringData"):
        if key in obj and obj[key] is not None:
            obj[key] = _mask(obj[key])
            changed = True
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if isinstance(annotations, dict) and _LAST_APPLIED in annotations:
        annotations[_LAST_APPLIED] = REDACTED
        changed = True
    return changed


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED for k in value}
    return REDACTED


# Keys whose string values are structure, not content; every other string value in a
# sensitive record that cannot be parsed is masked.
_SAFE_KEYS: Final = frozenset(
    [
        "kind",
        "apiVersion",
        "level",
        "auditID",
        "stage",
        "requestURI",
        "verb",
        "resource",
        "subresource",
        "namespace",
        "name",
        "apiGroup",
        "uid",
        "resourceVersion",
        "requestReceivedTimestamp",
        "stageTimestamp",
        "timestamp",
        "time",
        "username",
        "userAgent",
        "op",
        "path",
        "rule",
        "priority",
        "source",
        "hostname",
    ]
)
_JSON_STRING_VALUE = re.compile(r'"((?:[^"\\]|\\.)*)"(\s*:\s*)"((?:[^"\\]|\\.)*)("?)')


def redact_text(text: str) -> str:
    """Best effort for text that is not valid JSON (it goes to quarantine as it is otherwise):
    in a record that mentions secrets, tokens or credentials, mask every string value whose key
    is not known to be harmless, including a value cut off at the end of the text."""
    if not needs_redaction(text.encode()):
        return text

    def mask(m: re.Match[str]) -> str:
        key, sep, _value, close = m.groups()
        if key in _SAFE_KEYS:
            return m.group(0)
        return f'"{key}"{sep}"{REDACTED}{close}'

    masked = _JSON_STRING_VALUE.sub(mask, text)
    # Strings in arrays (e.g. ["s3cr3t"]) have no key: mask long ones.
    return re.sub(r'(?<=[\[,])\s*"((?:[^"\\]|\\.){16,})"', f'"{REDACTED}"', masked)
