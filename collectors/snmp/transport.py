"""The seam between the poller and an SNMP library (an *engine*).

The poller only ever asks a device three things: GET these OIDs, GETNEXT
these subtrees (detection), walk these table columns. It gets the answers
as :class:`~collectors.snmp.values.Raw` values, so profiles, readings and
samples never see which library fetched them. Two engines implement it:

* ``gufo`` (default): gufo_snmp, a Rust BER/USM core driven from asyncio
  (``collectors/snmp/gufo_engine.py``);
* ``pysnmp``: pysnmp 7 (``collectors/snmp/pysnmp_engine.py``), for
  platforms without a gufo wheel (``collector.engine: pysnmp``).

Both turn every library error into :class:`SnmpFailure` with one of the
``ap_status`` reasons (``snmp_timeout``, ``snmp_auth``, ``snmp_error``);
messages name the device, never a community or a key.

``tests/test_snmp_engines.py`` checks that both engines give identical
readings on every shared recording and on net-snmp (v2c and v3).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping, NamedTuple, Optional, Protocol, Sequence

from hotspot_monitor.config.models import SnmpCredentials

from .profile import Profile
from .values import Raw, SYNTAX_KIND

EngineName = Literal["gufo", "pysnmp"]
Index = tuple[int, ...]
MAX_VARBINDS = 60  # per request: snmpsim caps responses at 64 varbinds, small agents at less


class SnmpFailure(Exception):
    """A request failed; ``reason`` is one of the ap_status reasons."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """Where and how to reach one device (settings already resolved)."""

    device_id: str
    label: str  # "ap ID (host:port)": what messages name
    host: str
    port: int
    credentials: SnmpCredentials
    timeout_s: float
    retries: int


class Walk(NamedTuple):
    columns: dict[str, dict[Index, Raw]]  # column oid -> {row index: value}
    truncated: bool  # a column reached max_rows (or the deadline cut it)
    overtime: bool = False  # the walk stopped at its deadline (collector.max_walk_s)


class Session(Protocol):
    """One device's requests during one poll."""

    async def get(self, oids: Sequence[str]) -> dict[str, Raw]:
        """GET ``oids``; an OID the agent does not have is ``Raw("missing", "absent")``."""

    async def get_next(self, oids: Sequence[str]) -> dict[str, str]:
        """GETNEXT each of ``oids``: {asked oid: the oid the agent returned}; none past the end."""

    async def walk_columns(self, columns: Sequence[str], max_rows: int, first_reps: int = 10,
                           deadline: Optional[float] = None) -> Walk:
        """Walk table columns (GETBULK; GETNEXT under v1) until each leaves its subtree.

        ``first_reps`` sizes the first request from the row count seen last
        time: every varbind past a table's end costs decoding. No request is
        sent after ``deadline`` (``time.monotonic()``): an agent that answers
        an endless or very slow table cannot hold a poll longer than that.
        """


class Engine(Protocol):
    name: str

    async def session(self, target: Target) -> Session:
        """A session for one poll of ``target`` (engines keep what is worth keeping)."""

    def forget(self, device_id: str) -> None:
        """Drop what is kept for a device (its credentials or address changed)."""

    def close(self) -> None:
        """Release sockets; the engine is not used afterwards."""


def wire_kinds(profiles: Mapping[str, Profile]) -> dict[str, str]:
    """{scalar instance or column OID: the Raw kind its MIB syntax gives}.

    Engines whose library returns bare Python values (gufo: an int for
    Counter32, Counter64, Gauge32 and TimeTicks alike) take the kind from
    here; the differential test checks it against what agents really send.
    """
    out: dict[str, str] = {}
    for p in profiles.values():
        cols = [*p.scalars.values(), *(c for t in p.tables.values() for c in t.columns.values())]
        for c in cols:
            out.setdefault(c.oid, SYNTAX_KIND[c.wire_syntax])
    return out


def open_engine(name: EngineName, kinds: Mapping[str, str]) -> Engine:
    """The engine called ``name``; its library is imported only here."""
    if name == "gufo":
        from .gufo_engine import GufoEngine

        return GufoEngine(kinds)
    if name == "pysnmp":
        from .pysnmp_engine import PysnmpEngine

        return PysnmpEngine()
    raise ValueError(f"unknown SNMP engine {name!r} (gufo or pysnmp)")
