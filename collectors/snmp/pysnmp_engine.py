"""The ``pysnmp`` engine: pysnmp 7.1's asyncio API, kept cheap and bounded.

For platforms without a gufo_snmp wheel (``collector.engine: pysnmp``); see
``transport.py`` for the interface both engines implement.

* One ``SnmpEngine`` for every community device and one per distinct v3
  credential (USM keys are per user name inside an engine); engines, auth
  objects and targets are built once and reused: first contact per
  credential costs 60-75 ms CPU (FACTS.md).
* ``lookupMib=False`` and OIDs built once halve the CPU per poll.
* The engine's UDP socket gets a 4 MiB receive buffer: with many requests in
  flight the default buffer overflowed and replies were dropped.
* Every library error becomes :class:`SnmpFailure` with a reason
  (``snmp_timeout``, ``snmp_auth``, ``snmp_error``); messages name the device,
  never a community or key.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import socket
import time
from dataclasses import dataclass
from typing import Optional, Sequence

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config as engine_config
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    get_cmd,
    next_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as hl_auth
from pysnmp.proto import errind
from pysnmp.entity.rfc3413 import cmdgen as _cmdgen
from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD as _LCD
from pysnmp.proto.rfc1902 import ObjectName
from pyasn1.type.univ import Null, ObjectIdentifier, OctetString
from pysnmp.error import PySnmpError
from pysnmp.proto import rfc1902, rfc1905

from hotspot_monitor.config.models import SnmpCredentials

from .transport import MAX_VARBINDS, SnmpFailure, Target, Walk
from .values import ABSENT, Raw

_NULL = Null("")
RCVBUF = 4 * 1024 * 1024

MISSING_REASONS = {
    rfc1905.NoSuchObject.tagSet: "absent",
    rfc1905.NoSuchInstance.tagSet: "absent",
    rfc1905.EndOfMibView.tagSet: "end_of_mib_view",
}


def to_raw(v: object) -> Raw:
    """Classify one varbind value (lookupMib=False gives bare rfc1902 types)."""
    tag = getattr(v, "tagSet", None)
    if tag in MISSING_REASONS:
        return Raw("missing", MISSING_REASONS[tag])
    if isinstance(v, rfc1902.Counter64):
        return Raw("counter64", int(v))
    if isinstance(v, rfc1902.Counter32):
        return Raw("counter32", int(v))
    if isinstance(v, rfc1902.TimeTicks):
        return Raw("ticks", int(v))
    if isinstance(v, rfc1902.Gauge32):  # also Unsigned32
        return Raw("gauge", int(v))
    if isinstance(v, rfc1902.IpAddress):
        return Raw("ip", ".".join(str(b) for b in bytes(v.asOctets())))
    if isinstance(v, OctetString):
        return Raw("bytes", bytes(v.asOctets()))
    if isinstance(v, ObjectIdentifier):
        return Raw("oid", str(v))
    if isinstance(v, Null):
        return Raw("missing", "null")
    try:
        return Raw("int", int(v))  # Integer32 and friends
    except (TypeError, ValueError):
        return Raw("missing", "unknown_type")

AUTH = {
    "MD5": hl_auth.USM_AUTH_HMAC96_MD5,
    "SHA": hl_auth.USM_AUTH_HMAC96_SHA,
    "SHA224": hl_auth.USM_AUTH_HMAC128_SHA224,
    "SHA256": hl_auth.USM_AUTH_HMAC192_SHA256,
    "SHA384": hl_auth.USM_AUTH_HMAC256_SHA384,
    "SHA512": hl_auth.USM_AUTH_HMAC384_SHA512,
}
PRIV = {
    "DES": hl_auth.USM_PRIV_CBC56_DES,
    "AES": hl_auth.USM_PRIV_CFB128_AES,
    "AES128": hl_auth.USM_PRIV_CFB128_AES,
    "AES192": hl_auth.USM_PRIV_CFB192_AES,
    "AES256": hl_auth.USM_PRIV_CFB256_AES,
}
AUTH_ERRORS = (errind.WrongDigest, errind.DecryptionError, errind.UnknownUserName,
               errind.AuthenticationFailure, errind.AuthenticationError,
               errind.UnknownSecurityName, errind.UnsupportedSecurityLevel,
               errind.NotInTimeWindow)


def classify(error_indication: object) -> str:
    if isinstance(error_indication, errind.RequestTimedOut):
        return "snmp_timeout"
    if isinstance(error_indication, AUTH_ERRORS):
        return "snmp_auth"
    text = str(error_indication).lower()
    if any(s in text for s in ("wrong digest", "decryption error", "unknown user",
                               "authentication", "not in time window")):
        return "snmp_auth"
    if "timed out" in text or "timeout" in text:
        return "snmp_timeout"
    return "snmp_error"


def _cred_key(c: SnmpCredentials) -> str:
    """A digest naming a credential set without holding its secrets in clear."""
    parts = [c.version, c.user or "", c.auth_protocol or "", c.priv_protocol or "", c.context,
             c.community.get_secret_value() if c.community else "",
             c.auth_key.get_secret_value() if c.auth_key else "",
             c.priv_key.get_secret_value() if c.priv_key else ""]
    # keyed with a per-process secret: the digest can be used as a pysnmp
    # index (which pysnmp may log) without allowing a dictionary attack on
    # low-entropy communities
    return hmac.new(_CRED_KEY_SECRET, "\0".join(parts).encode(), hashlib.sha256).hexdigest()[:16]


_CRED_KEY_SECRET = os.urandom(32)


class Engines:
    """Caches engines and auth data per credential set."""

    def __init__(self) -> None:
        self._engines: dict[str, SnmpEngine] = {}
        self._auth: dict[str, object] = {}
        self._tuned: set[int] = set()

    def for_credentials(self, c: SnmpCredentials) -> tuple[SnmpEngine, object]:
        key = _cred_key(c)
        if key not in self._auth:
            self._auth[key] = self._make_auth(c, key)
        ekey = "community" if c.version != "3" else key
        eng = self._engines.get(ekey)
        if eng is None:
            eng = self._engines[ekey] = SnmpEngine()
        return eng, self._auth[key]

    @staticmethod
    def _make_auth(c: SnmpCredentials, key: str) -> object:
        if c.version != "3":
            community = c.community.get_secret_value() if c.community else "public"
            # community_index must not be the community itself: pysnmp logs indexes
            return CommunityData(f"c{key}", community, mpModel=0 if c.version == "1" else 1)
        kw: dict = {}
        if c.auth_protocol:
            kw["authKey"] = c.auth_key.get_secret_value() if c.auth_key else None
            kw["authProtocol"] = AUTH[c.auth_protocol]
        if c.priv_protocol:
            kw["privKey"] = c.priv_key.get_secret_value() if c.priv_key else None
            kw["privProtocol"] = PRIV[c.priv_protocol]
        return UsmUserData(c.user or "", **kw)

    def tune(self, engine: SnmpEngine) -> None:
        """Enlarge the engine's UDP receive buffer once its socket exists."""
        if id(engine) in self._tuned:
            return
        try:
            tr = engine_config.get_transport(engine, udp.DOMAIN_NAME)
            sock = tr.transport.get_extra_info("socket") if tr is not None and tr.transport else None
            if sock is None:
                return
            try:
                sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), RCVBUF)
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            self._tuned.add(id(engine))
        except Exception:  # best effort: the poll still works with the default
            self._tuned.add(id(engine))

    def close(self) -> None:
        for eng in self._engines.values():
            try:
                eng.close_dispatcher()
            except Exception:
                pass
        self._engines.clear()
        self._tuned.clear()


class PysnmpEngine:
    """Engines, auth data and transport targets, built once and reused."""

    name = "pysnmp"

    def __init__(self) -> None:
        self._engines = Engines()
        self._sessions: dict[str, Session] = {}
        self._objs: dict[str, ObjectType] = {}

    async def session(self, target: Target) -> "Session":
        s = self._sessions.get(target.device_id)
        if s is None:
            try:
                s = await Session.create(self._engines, target, self._objs)
            except PySnmpError as e:  # an address pysnmp cannot resolve or use
                raise SnmpFailure("snmp_error", f"{target.label}: {type(e).__name__}: {e}") from None
            self._sessions[target.device_id] = s
        return s

    def forget(self, device_id: str) -> None:
        self._sessions.pop(device_id, None)

    def close(self) -> None:
        self._engines.close()
        self._sessions.clear()


@dataclass
class Session:
    """One device's transport: engine, auth, target, context (built once)."""

    label: str  # "ap-id (host:port)" for messages
    engine: SnmpEngine
    auth: object
    target: UdpTransportTarget
    context: ContextData
    version: str
    engines: Engines
    objs: dict[str, ObjectType]  # OID text -> request varbind, shared by all sessions

    @classmethod
    async def create(cls, engines: Engines, t: Target, objs: dict[str, ObjectType]) -> "Session":
        cred = t.credentials
        engine, auth = engines.for_credentials(cred)
        target = await UdpTransportTarget.create((t.host, t.port), timeout=t.timeout_s,
                                                 retries=t.retries)
        ctx = ContextData(contextName=cred.context) if cred.context else ContextData()
        return cls(t.label, engine, auth, target, ctx, cred.version, engines, objs)

    def _obj(self, oid: str) -> ObjectType:
        o = self.objs.get(oid)
        if o is None:  # building one costs more than the request it goes into
            o = self.objs[oid] = ObjectType(ObjectIdentity(ObjectName(oid)))
        return o

    def _check(self, err_ind: object, err_status: object, err_index: object, op: str) -> None:
        if err_ind:
            reason = classify(err_ind)
            raise SnmpFailure(reason, f"{self.label}: SNMP {op} failed: {err_ind}")
        if err_status and int(err_status) != 0:
            raise SnmpFailure("snmp_error",
                              f"{self.label}: SNMP {op} error-status {err_status.prettyPrint()}"
                              f" at index {int(err_index)}")

    async def get(self, oids: Sequence[str]) -> dict[str, Raw]:
        try:
            return await self._get(oids)
        except PySnmpError as e:
            raise SnmpFailure("snmp_error", f"{self.label}: {type(e).__name__}: {e}") from None

    async def _get(self, oids: Sequence[str]) -> dict[str, Raw]:
        out: dict[str, Raw] = {}
        for i in range(0, len(oids), MAX_VARBINDS):
            chunk = oids[i:i + MAX_VARBINDS]
            err_ind, err_status, err_index, vbs = await get_cmd(
                self.engine, self.auth, self.target, self.context, *(self._obj(o) for o in chunk),
                lookupMib=False)
            self.engines.tune(self.engine)
            if not err_ind and err_status and int(err_status) != 0 and self.version == "1":
                # v1 fails the whole PDU for one missing OID (noSuchName): ask one by one
                for one in chunk:
                    e_ind, e_status, _, one_vbs = await get_cmd(
                        self.engine, self.auth, self.target, self.context, self._obj(one),
                        lookupMib=False)
                    self._check(e_ind, 0, 0, "GET")
                    if not (e_status and int(e_status) != 0):
                        for name, val in one_vbs:
                            out[str(name)] = to_raw(val)
                continue
            self._check(err_ind, err_status, err_index, "GET")
            for name, val in vbs:
                out[str(name)] = to_raw(val)
        for o in oids:  # what the agent left out (v1 noSuchName) is absent, as in gufo
            if o not in out:
                out[o] = ABSENT
        return out

    async def get_next(self, oids: Sequence[str]) -> dict[str, str]:
        try:
            return await self._get_next(oids)
        except PySnmpError as e:
            raise SnmpFailure("snmp_error", f"{self.label}: {type(e).__name__}: {e}") from None

    async def _get_next(self, oids: Sequence[str]) -> dict[str, str]:
        """One GETNEXT of ``oids``: {asked oid: the oid the agent returned inside it}.

        Used by detection to ask whether a subtree holds anything, so the
        values are not kept. A subtree with nothing in it (the answer lies
        past it, endOfMibView, or v1's noSuchName) is left out.
        """
        out: dict[str, str] = {}
        chunks = [list(oids[i:i + MAX_VARBINDS]) for i in range(0, len(oids), MAX_VARBINDS)]
        while chunks:
            chunk = chunks.pop(0)
            err_ind, err_status, err_index, vbs = await next_cmd(
                self.engine, self.auth, self.target, self.context,
                *(ObjectType(ObjectIdentity(ObjectName(o))) for o in chunk), lookupMib=False)
            self.engines.tune(self.engine)
            if not err_ind and err_status and int(err_status) != 0 and self.version == "1":
                if len(chunk) > 1:  # v1 fails the whole PDU for one OID past the end: ask alone
                    chunks = [[o] for o in chunk] + chunks
                continue
            self._check(err_ind, err_status, err_index, "GETNEXT")
            for asked, (name, val) in zip(chunk, vbs):
                if to_raw(val).kind != "missing" and str(name).startswith(asked + "."):
                    out[asked] = str(name)
        return out

    async def _bulk(self, reps: int, oids: list[tuple[int, ...]]) -> tuple:
        """GETBULK without hlapi's per-request MIB resolution of the request OIDs.

        Same steps as ``hlapi.v3arch.asyncio.bulk_cmd`` (LCD configure, then
        the command generator), but the varbinds go out as plain
        (ObjectName, Null) pairs: walks build new OIDs for every request and
        resolving them through the MIB view cost about a tenth of the CPU.
        """
        addr, _ = _LCD.configure(self.engine, self.auth, self.target, self.context.contextName)
        fut = asyncio.get_running_loop().create_future()

        def done(engine, handle, err_ind, err_status, err_index, vbs, ctx) -> None:
            if not fut.cancelled():
                fut.set_result((err_ind, err_status, err_index, vbs))

        _cmdgen.BulkCommandGenerator().send_varbinds(self.engine, addr, self.context.contextEngineId,
                            self.context.contextName, 0, reps,
                            [(ObjectName(o), _NULL) for o in oids], done, None)
        return await fut

    async def walk_columns(self, columns: Sequence[str], max_rows: int, first_reps: int = 10,
                           deadline: Optional[float] = None) -> Walk:
        try:
            return await self._walk(columns, max_rows, first_reps, deadline)
        except PySnmpError as e:
            raise SnmpFailure("snmp_error", f"{self.label}: {type(e).__name__}: {e}") from None

    async def _walk(self, columns: Sequence[str], max_rows: int, first_reps: int,
                    deadline: Optional[float] = None) -> Walk:
        """Walk table columns together with GETBULK (GETNEXT on v1).

        ``first_reps`` sizes the first GETBULK (the caller's guess of the row
        count + 1): every varbind past the table end costs decode CPU, and
        pyasn1 decoding is most of the poller's CPU. Later requests use the
        full ``MAX_VARBINDS`` budget.
        Returns ``{column_oid: {index: Raw}}`` and whether ``max_rows`` cut the walk.
        A column ends when the agent leaves its subtree or says endOfMibView;
        columns shorter than others (truncated tables) simply end early.
        """
        prefixes = {c: tuple(int(x) for x in c.split(".")) for c in columns}
        result: dict[str, dict[tuple[int, ...], Raw]] = {c: {} for c in columns}
        cursor: dict[str, tuple[int, ...]] = dict(prefixes)
        truncated = False
        first = True
        while cursor:
            if deadline is not None and time.monotonic() >= deadline:
                return Walk(result, True, True)
            active = list(cursor)
            if self.version == "1":
                vbs_in = [ObjectType(ObjectIdentity(ObjectName(cursor[c]))) for c in active]
                res = await next_cmd(self.engine, self.auth, self.target, self.context, *vbs_in,
                                     lookupMib=False)
                reps = 1
            else:
                reps = max(1, MAX_VARBINDS // len(active))
                if first:
                    reps = max(1, min(reps, first_reps))
                first = False
                res = await self._bulk(reps, [cursor[c] for c in active])
            self.engines.tune(self.engine)
            err_ind, err_status, err_index, vbs = res
            if not err_ind and err_status and int(err_status) != 0 and self.version == "1":
                break  # v1 noSuchName at the end of the MIB
            self._check(err_ind, err_status, err_index, "GETBULK" if self.version != "1" else "GETNEXT")
            progressed: set[str] = set()
            done: set[str] = set()
            for i, (name, val) in enumerate(vbs):
                col = active[i % len(active)]
                if col in done:
                    continue
                oid = tuple(name)
                pre = prefixes[col]
                raw = to_raw(val)
                if (raw.kind == "missing" and raw.value == "end_of_mib_view") \
                        or oid[:len(pre)] != pre or len(oid) <= len(pre):
                    done.add(col)
                    continue
                if oid <= cursor[col]:
                    done.add(col)  # agent went backwards: stop rather than loop
                    continue
                if raw.kind != "missing":  # a Null inside a table: no value (gufo drops it too)
                    result[col][oid[len(pre):]] = raw
                cursor[col] = oid
                progressed.add(col)
                if len(result[col]) >= max_rows:
                    truncated = True
                    done.add(col)
            for col in active:
                if col in done or col not in progressed:
                    cursor.pop(col, None)
        return Walk(result, truncated)
