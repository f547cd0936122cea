"""What both stores accept, so SQLite and InfluxDB store the same thing.

InfluxDB drops empty tag values and cannot store NaN/inf or a sample without
fields; line protocol cannot carry a newline in a tag or name, nor a tag or
name ending in a backslash (it would escape the separator). Both stores apply
these rules here instead of diverging silently.
"""
from __future__ import annotations

import logging
import math
import time
from typing import Optional

from ..sample import Sample

log = logging.getLogger(__name__)


def normalize(sample: Sample) -> Optional[Sample]:
    """The sample as a store keeps it, or None if it cannot be stored (reason logged)."""
    key = (sample.measurement, tuple(sample.tags.items()))
    if key in _good_series and all(
            k in _good_fields and (type(v) is not float or math.isfinite(v))
            and type(v) in _TYPES for k, v in sample.fields.items()):
        return sample  # the hot path: a series and field names seen before
    problem = _name_problem(sample.measurement)
    tags = {}
    for k, v in sample.tags.items():
        if v == "":
            continue
        problem = problem or _name_problem(k) or _name_problem(v)
        tags[k] = v
    fields = {}
    for k, v in sample.fields.items():
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            continue
        if not isinstance(v, (int, float, str)):
            problem = problem or f"field {k!r} has unsupported type {type(v).__name__}"
            continue
        problem = problem or _name_problem(k)
        fields[k] = v
    if not fields:
        problem = problem or "no storable fields"
    if problem:
        _warn(f"dropped a {sample.measurement!r} sample: {problem}")
        return None
    if len(_good_series) > 500_000:
        _good_series.clear()
    if len(tags) == len(sample.tags):
        _good_series.add(key)
    if len(_good_fields) < 100_000:
        _good_fields.update(fields)
    if len(tags) == len(sample.tags) and len(fields) == len(sample.fields):
        return sample
    return Sample(sample.measurement, tags, fields, sample.time)


_TYPES = (int, float, bool, str)
_good_series: set[tuple] = set()  # (measurement, tag items) already checked
_good_fields: set[str] = set()  # field names already checked


def _name_problem(s: str) -> Optional[str]:
    if not isinstance(s, str) or s == "":
        return f"empty or non-string name {s!r}"
    if "\n" in s or "\r" in s:
        return f"newline in {s!r}"
    if s.endswith("\\"):
        return f"trailing backslash in {s!r}"
    return None


_last_warn = [0.0]
_suppressed = [0]


def _warn(msg: str) -> None:
    """Rate-limited: one line per 10 s, with the number of suppressed ones."""
    now = time.monotonic()
    if now - _last_warn[0] >= 10:
        extra = f" ({_suppressed[0]} more suppressed)" if _suppressed[0] else ""
        log.warning(msg + extra)
        _last_warn[0] = now
        _suppressed[0] = 0
    else:
        _suppressed[0] += 1
