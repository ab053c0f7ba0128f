"""The baseline period every question shares.

A baseline is what the same account or workload did in the `--baseline` period before the
window. With too little history (by default less than a day or fewer than 50 events; the rule
files' `detectors: baselines:`, rules/detectors.py) it is insufficient: only rules decide, and a
gap says so.
"""

from __future__ import annotations

from typing import Final

from kubetrail.timeutil import NS

DEFAULT_BASELINE_NS: Final = 7 * 86400 * NS
