"""Plain values off the wire, and reading them as profile types.

Engines hand back :class:`Raw` values (kind + plain Python value), so
nothing past the transport depends on the SNMP library. Agents answer with
the wrong type often enough (a number sent as a string, a client count
typed Counter32, noSuchInstance where a value should be) that every
conversion returns either a value or a *reason* string the poller counts;
nothing here raises on bad data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

Plain = Union[int, bytes, str, None]


@dataclass(frozen=True, slots=True)
class Raw:
    """A value off the wire: ``kind`` is int/gauge/counter32/counter64/ticks/bytes/oid/ip/missing.

    ``missing`` values carry the reason: ``absent`` (noSuchObject or
    noSuchInstance in a GET: not every library tells them apart),
    ``end_of_mib_view``, ``null``, ``unknown_type``.
    """

    kind: str
    value: Plain


ABSENT = Raw("missing", "absent")

# SMI syntax (profile ``syntax:``) -> Raw kind
SYNTAX_KIND = {
    "Integer32": "int", "Gauge32": "gauge", "Unsigned32": "gauge", "Counter32": "counter32",
    "Counter64": "counter64", "TimeTicks": "ticks", "OctetString": "bytes",
    "ObjectIdentifier": "oid", "IpAddress": "ip",
}


INT_KINDS = ("int", "gauge", "counter32", "counter64", "ticks")


def as_number(r: Raw) -> tuple[Optional[float | int], Optional[str]]:
    """Any integer type is a level here; numeric strings are accepted."""
    if r.kind in INT_KINDS:
        return r.value, None  # type: ignore[return-value]
    if r.kind == "bytes":
        text = r.value.decode("ascii", "replace").strip()  # type: ignore[union-attr]
        try:
            return int(text), None
        except ValueError:
            try:
                f = float(text)
            except ValueError:
                return None, "bad_type"
            return (f, None) if f == f and abs(f) != float("inf") else (None, "bad_type")
    if r.kind == "missing":
        return None, str(r.value)
    return None, "bad_type"


def as_counter(r: Raw) -> tuple[Optional[tuple[int, int]], Optional[str]]:
    """(value, bits): Counter64 is 64-bit, Counter32 (or a plain integer) 32-bit."""
    if r.kind == "counter64":
        return (r.value, 64), None  # type: ignore[return-value]
    if r.kind in ("counter32", "gauge", "int") and isinstance(r.value, int) and 0 <= r.value < 1 << 32:
        return (r.value, 32), None
    if r.kind == "missing":
        return None, str(r.value)
    return None, "bad_type"


def as_string(r: Raw) -> tuple[Optional[str], Optional[str]]:
    if r.kind == "bytes":
        return r.value.decode("utf-8", "replace"), None  # type: ignore[union-attr]
    if r.kind in INT_KINDS or r.kind in ("oid", "ip"):
        return str(r.value), None
    return None, str(r.value) if r.kind == "missing" else "bad_type"


def as_mac(r: Raw) -> tuple[Optional[str], Optional[str]]:
    if r.kind == "bytes" and len(r.value) == 6:  # type: ignore[arg-type]
        return mac_text(r.value), None  # type: ignore[arg-type]
    if r.kind == "bytes":
        s = r.value.decode("ascii", "replace").strip()  # type: ignore[union-attr]
        m = normalize_mac(s)
        return (m, None) if m else (None, "bad_type")
    return None, str(r.value) if r.kind == "missing" else "bad_type"


def mac_text(b: bytes | tuple[int, ...]) -> str:
    return ":".join(f"{x:02x}" for x in b)


def normalize_mac(s: str) -> Optional[str]:
    """``aa:bb:cc:dd:ee:ff`` from any common spelling, else None."""
    h = "".join(ch for ch in s.lower() if ch in "0123456789abcdef")
    if len(h) != 12 or len(h) != len(s.replace(":", "").replace("-", "").replace(".", "")):
        return None
    return ":".join(h[i:i + 2] for i in range(0, 12, 2))


def convert(r: Raw, typ: str, scale: float = 1.0) -> tuple[object, Optional[str]]:
    """Read ``r`` as profile type ``typ``; return (value, None) or (None, reason)."""
    if typ == "number":
        v, why = as_number(r)
        if v is not None and scale != 1.0:
            v = v * scale
        return v, why
    if typ == "ticks":
        if r.kind in INT_KINDS:
            return r.value / 100.0, None  # type: ignore[operator]
        return None, str(r.value) if r.kind == "missing" else "bad_type"
    if typ == "counter":
        return as_counter(r)
    if typ == "string":
        return as_string(r)
    if typ == "mac":
        return as_mac(r)
    if typ == "oid":
        if r.kind == "oid":
            return r.value, None
        return None, str(r.value) if r.kind == "missing" else "bad_type"
    return None, "bad_type"
