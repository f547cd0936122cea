"""Line protocol for InfluxDB, written by influxdb-client's ``Point`` code.

``line()`` builds a ``Point`` per sample (the reference); ``Serializer`` gives
the same bytes faster by caching each series key and escaped field key, still
escaping with Point's own functions (tests compare the two on awkward input).
Samples are checked by ``common.normalize`` first, so both stores store the same.
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Mapping, Optional

from influxdb_client import Point, WritePrecision

from ..sample import FieldValue, Sample, to_us
from .common import normalize

try:  # Point's own escaping functions, called without building a Point per sample
    from influxdb_client.client.write import point as _lp

    _ESC_M, _ESC_K, _esc, _esc_str, _tags_lp, _fields_lp = (
        _lp._ESCAPE_MEASUREMENT, _lp._ESCAPE_KEY, _lp._escape_key, _lp._escape_string,
        _lp._append_tags, _lp._append_fields)
except (ImportError, AttributeError):  # a future influxdb-client: use Point itself
    _lp = None


def line(sample: Sample) -> str:
    """One line of line protocol (microsecond time), exactly as ``Point`` writes it."""
    p = Point(sample.measurement)
    for k, v in sample.tags.items():
        p.tag(k, v)
    for k, v in sample.fields.items():
        p.field(k, v)
    return p.time(to_us(sample.time), WritePrecision.US).to_line_protocol()


class Serializer:
    """Point's serialization, faster: series keys and escaped field keys are cached.

    Escaping is always Point's (``_escape_key``/``_append_tags``/``_escape_string``);
    values are formatted as ``Point._append_fields`` does (ints ``i``, floats
    without a trailing ``.0``, ``true``/``false``, quoted strings), fields sorted
    by key. ``test_line_protocol_is_points`` checks the output equals Point's.
    """

    def __init__(self) -> None:
        self._keys: dict[tuple, str] = {}
        self._plans: dict[tuple, list[tuple[str, str]]] = {}
        self._last_time: tuple[Optional[datetime], int] = (None, 0)

    def __call__(self, s: Sample) -> Optional[str]:
        """The line for ``s``, or None if ``s`` cannot be stored (see common.normalize).

        Series and field names seen before were validated then: skip normalize.
        """
        if _lp is None:
            n = normalize(s)
            return None if n is None else line(n)
        key = self._keys.get((s.measurement, tuple(s.tags.items())))
        if key is not None:
            fields = self._fields(s.fields, False)
            if fields is not None:
                last = self._last_time  # a poll round shares one datetime object
                if last[0] is not s.time:
                    last = self._last_time = (s.time, to_us(s.time))
                return f"{key}{fields} {last[1]}"
        n = normalize(s)
        if n is None:
            return None
        k = (n.measurement, tuple(n.tags.items()))
        key = self._keys.get(k)
        if key is None:
            if len(self._keys) > 200_000:
                self._keys.clear()
            key = self._keys[k] = _esc(n.measurement, _ESC_M) + _tags_lp(n.tags)
        return f"{key}{self._fields(n.fields, True)} {to_us(n.time)}"

    def _fields(self, fields: Mapping[str, FieldValue], checked: bool) -> Optional[str]:
        names = tuple(fields)
        plan = self._plans.get(names)
        if plan is None:
            if not checked:
                return None
            if len(self._plans) > 10_000:
                self._plans.clear()
            plan = self._plans[names] = [(f, _esc(f, _ESC_K) + "=") for f in sorted(names)]
        parts = []
        for f, prefix in plan:
            v = fields[f]
            t = type(v)
            if t is float:
                text = str(v)
                if text.endswith(".0"):
                    text = text[:-2]
                elif not math.isfinite(v):
                    return _fields_lp(fields, {}) if checked else None
                parts.append(prefix + text)
            elif t is int:
                parts.append(f"{prefix}{v}i")
            elif t is bool:
                parts.append(prefix + ("true" if v else "false"))
            elif t is str:
                parts.append(f'{prefix}"{_esc_str(v)}"')
            else:
                return _fields_lp(fields, {}) if checked else None
        return ",".join(parts)
