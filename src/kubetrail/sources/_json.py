"""Typed readers of parsed JSON values, shared by the source modules: each returns the value
when it has the expected type and None (or an empty container) otherwise, so normalizers never
trust a producer's types."""

from __future__ import annotations

from typing import Any


def text(v: Any) -> str | None:
    """A non-empty string, else None."""
    return v if isinstance(v, str) and v else None


def integer(v: Any) -> int | None:
    """An int (not a bool), or a decimal string of one (64-bit JSON numbers are strings in proto3 JSON)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.lstrip("-").isdigit():
        return int(v)
    return None


def obj(v: Any) -> dict[str, Any]:
    """A JSON object, else an empty one."""
    return v if isinstance(v, dict) else {}


def objs(v: Any) -> list[dict[str, Any]]:
    """The objects of a JSON array."""
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def texts(v: Any) -> list[str]:
    """The non-empty strings of a JSON array."""
    return [x for x in v if isinstance(x, str) and x] if isinstance(v, list) else []
