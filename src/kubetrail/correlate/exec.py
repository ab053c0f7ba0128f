"""Exec sessions: a person's `kubectl exec` (or attach, port-forward) into a pod -> the
processes started in it during the session -> what those processes did.

Ancestry decides whenever the sensor reports it: a process belongs to a session when one of its
ancestors is the session's root (the exec'd command, started in that pod and container right
after the request). Descendants stay in the session after it ends (a backgrounded child); the
workload's own processes running at the same moment do not. When the sensor reports no
ancestry (Falco, Hubble), a time window over the session is the weaker fallback.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from kubetrail.timeutil import NS

ROOT_DELAY_NS: Final = 10 * NS  # the exec'd process starts this soon after the request at most
OPEN_SESSION_NS: Final = 3600 * NS  # a session whose end is not logged is assumed this long at most


@dataclass(frozen=True, slots=True)
class Session:
    cluster: str
    namespace: str
    pod: str
    subresource: str  # exec, attach, portforward
    user: str  # who ran it (the impersonator when impersonating)
    command: str | None
    container: str | None
    start: int
    end: int | None  # None: the log has no ResponseComplete for it
    evidence: str  # the audit event id

    def covers(self, t: int, skew_ns: int) -> bool:
        end = self.end if self.end is not None else self.start + OPEN_SESSION_NS
        return self.start - skew_ns <= t <= end + skew_ns


@dataclass(frozen=True, slots=True)
class Proc:
    id: str  # event id of its process_exec
    time: int
    binary: str | None
    container: str | None
    exec_id: str | None
    parent_exec_id: str | None


def is_root(proc: Proc, session: Session, skew_ns: int) -> bool:
    """Whether `proc` is the command a session started."""
    if not session.start - skew_ns <= proc.time <= session.start + ROOT_DELAY_NS + skew_ns:
        return False
    if session.container and proc.container and session.container != proc.container:
        return False
    if session.command and proc.binary:
        return posixpath.basename(session.command.split()[0]) == posixpath.basename(proc.binary)
    return True


def by_ancestry(chain: Sequence[Proc], sessions: Iterable[Session], skew_ns: int) -> tuple[Session, Proc] | None:
    """The session one of `chain`'s processes (the event's process first, then its ancestors) was
    the root of, with that root. A root's parent is outside the container (the runtime starts the
    exec'd command): a process whose parent runs in the same container is never a root."""
    candidates = list(sessions)
    for i, proc in enumerate(chain):
        parent = chain[i + 1] if i + 1 < len(chain) else None
        if parent is not None and parent.container is not None and parent.container == proc.container:
            continue
        for session in candidates:
            if is_root(proc, session, skew_ns):
                return session, proc
    return None


def by_time(t: int, container: str | None, sessions: Iterable[Session], skew_ns: int) -> Session | None:
    """The latest session in the pod (and container, when both name one) that covers `t`."""
    covering = [s for s in sessions if s.covers(t, skew_ns) and not (s.container and container and s.container != container)]
    return max(covering, key=lambda s: s.start) if covering else None
