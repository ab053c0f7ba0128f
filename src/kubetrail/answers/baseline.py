"""What "normal" needs before it can be judged: the baseline policy every question shares.

A baseline is what the same account or workload did in the `--baseline` period before the
window. With less than a day or fewer than 50 events of history it is insufficient: only rules
decide, and a gap says so.
"""

from __future__ import annotations

from typing import Final

from kubetrail.timeutil import NS

DEFAULT_BASELINE_NS: Final = 7 * 86400 * NS
MIN_SPAN_NS: Final = 86400 * NS
MIN_EVENTS: Final = 50


def enough_history(first: int, last: int, events: int) -> bool:
    return last - first >= MIN_SPAN_NS and events >= MIN_EVENTS
