"""Stable identifiers: event ids from identity keys, and one form for container ids."""

from __future__ import annotations

import hashlib
import re
import zlib

_RUNTIME_PREFIX = re.compile(r"^[a-z0-9.-]+://")
_HEX = re.compile(r"^[0-9a-f]+$")


def make_id(source: str, *key: object) -> str:
    """A stable event id: the same identity key gives the same id on any machine.

    The id is 32 hex digits of BLAKE2b over the source name and the key parts; `None` parts
    are kept distinct from empty strings.
    """
    h = hashlib.blake2b(digest_size=16)
    h.update(source.encode())
    for part in key:
        h.update(b"\x1f" if part is None else b"\x1e" + str(part).encode())
    return h.hexdigest()


def content_hash(data: bytes) -> str:
    """64-bit checksum of an event's encoded normalized content. It only tells apart records
    that already share an id (duplicate or conflict), so CRC-32 and Adler-32 side by side are
    enough, and several times cheaper than a cryptographic hash on the ingest hot path."""
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


def container_id(raw: str | None) -> str | None:
    """'containerd://6b742e38ee3a…' and Falco's '6b742e38ee3a' -> '6b742e38ee3a'.

    Values that are not hex ids (Falco's `host`, `<NA>`, empty) become None.
    """
    if not raw:
        return None
    cid = _RUNTIME_PREFIX.sub("", raw.strip()).lower()
    if len(cid) < 12 or not _HEX.match(cid):
        return None
    return cid[:12]
