"""The parsing limit's type: audit.k8s.io/v1 Event as msgspec Structs (k8s.io/apiserver
pkg/apis/audit/v1/types.go), so `msgspec.json.Decoder(AuditEvent)` decodes a log line as
fast as Python can with full typing. Unknown fields are ignored, as msgspec does by default."""

from __future__ import annotations

from typing import Any

import msgspec


class UserInfo(msgspec.Struct, omit_defaults=True):
    username: str = ""
    uid: str = ""
    groups: list[str] = []
    extra: dict[str, list[str]] = {}


class ObjectReference(msgspec.Struct, omit_defaults=True):
    resource: str = ""
    namespace: str = ""
    name: str = ""
    uid: str = ""
    apiGroup: str = ""
    apiVersion: str = ""
    resourceVersion: str = ""
    subresource: str = ""


class Status(msgspec.Struct, omit_defaults=True):
    metadata: dict[str, Any] = {}
    status: str = ""
    message: str = ""
    reason: str = ""
    code: int = 0


class AuditEvent(msgspec.Struct, omit_defaults=True):
    kind: str
    apiVersion: str
    level: str
    auditID: str
    stage: str
    requestURI: str
    verb: str
    user: UserInfo
    requestReceivedTimestamp: str
    stageTimestamp: str
    impersonatedUser: UserInfo | None = None
    sourceIPs: list[str] = []
    userAgent: str = ""
    objectRef: ObjectReference | None = None
    responseStatus: Status | None = None
    requestObject: Any = None
    responseObject: Any = None
    annotations: dict[str, str] = {}
