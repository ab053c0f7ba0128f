"""The names of addresses as of a time: what DNS answers the sensors saw (Hubble DNS flows) had
said of an address by then, plus the names a sensor attached to a flow itself."""

from __future__ import annotations

from collections.abc import Iterable

from kubetrail.store import Store


class DnsNames:
    """Every DNS answer up to `until`, loaded once; `of` asks it about one address at a time."""

    def __init__(self, store: Store, cluster: str | None, until: int) -> None:
        self._answered: dict[tuple[str, str], list[tuple[str, int]]] = {}
        for r in store.query("dns_names", cluster=cluster, until=until):
            self._answered.setdefault((r["cluster"], r["ip"]), []).append((r["name"], r["first"]))

    def of(self, cluster: str, ip: str, at: int, sensor_names: Iterable[str] | None = None) -> list[str]:
        """Names answered for `ip` at or before `at`, with the sensor's own names for it."""
        answered = {name for name, first in self._answered.get((cluster, ip), ()) if first <= at}
        return sorted(answered | set(sensor_names or ()))
