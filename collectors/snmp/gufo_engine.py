"""The ``gufo`` engine (default): gufo_snmp's Rust core, driven from our asyncio loop.

gufo_snmp encodes, decodes, authenticates and encrypts in Rust; Python only
sees the values. Sessions are built by gufo's ``SnmpSession`` (community,
v3 keys, engine discovery); requests go straight to its socket's
``send_*`` / ``recv_*`` pairs, because its request methods

* have no retries, and end a request at once when the port is closed
  (ICMP) where pysnmp waits the timeout out: both engines must report a
  device the same way;
* go through ``asyncio.wait_for`` per request, a visible share of the CPU at
  10,000 APs a minute.

So this module relies on gufo_snmp 0.13's socket API (``pyproject.toml``
pins ``<0.14``); ``tests/test_snmp_engines.py`` exercises every path.

What gufo cannot tell us, and how it is made up for:

* Values come back as bare ``int`` / ``bytes`` / ``str``: a Counter64 and a
  Counter32 look alike. The Raw kind of an integer comes from the MIB syntax
  the profile declares for that OID (``transport.wire_kinds``), as
  snmp_exporter takes types from its generated ``snmp.yml``; an OID or IP
  address (``str``) likewise. The differential test checks the
  declarations against what agents really send.
* noSuchObject / noSuchInstance / Null are left out of a GET's answer: both
  engines report such an OID as ``Raw("missing", "absent")``.
* One OID per GETNEXT / GETBULK: table columns are walked one after the
  other (pysnmp asks a table's columns together).

Sockets: v1/v2c get a fresh UDP socket per poll (so open sockets are
bounded by ``collector.concurrency``); v3 keeps one per device, with the
agent's engine id, boots and time learnt once.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple, Optional, Sequence

from gufo.snmp import (
    Aes128Key,
    Aes192Key,
    Aes256Key,
    DesKey,
    Md5Key,
    Sha1Key,
    Sha224Key,
    Sha256Key,
    Sha384Key,
    Sha512Key,
    SnmpAuthError,
    SnmpVersion,
    User,
)
from gufo.snmp._fast import GetIter
from gufo.snmp.aio.client import SnmpSession as GufoClient

from hotspot_monitor.config.models import SnmpCredentials

from .transport import MAX_VARBINDS, Index, SnmpFailure, Target, Walk
from .values import ABSENT, INT_KINDS, Raw

AUTH_KEYS = {"MD5": Md5Key, "SHA": Sha1Key, "SHA224": Sha224Key, "SHA256": Sha256Key,
             "SHA384": Sha384Key, "SHA512": Sha512Key}
PRIV_KEYS = {"DES": DesKey, "AES": Aes128Key, "AES128": Aes128Key, "AES192": Aes192Key,
             "AES256": Aes256Key}
# USM accepts a request while its engine time is within 150 s of the agent's
# clock; every answer updates what gufo sends, so refresh only after a pause
V3_REFRESH_AFTER_S = 100.0
DNS_TTL_S = 300.0
_PASS_THROUGH = (KeyboardInterrupt, SystemExit, asyncio.CancelledError, GeneratorExit, StopAsyncIteration)


def gufo_raw(v: object, kind: Optional[str]) -> Raw:
    """A gufo value as the Raw pysnmp would give, the kind taken from the MIB syntax."""
    t = type(v)
    if t is int:
        return Raw(kind if kind in INT_KINDS else "int", v)  # type: ignore[arg-type]
    if t is bytes:
        return Raw("bytes", v)  # type: ignore[arg-type]
    if t is str:  # an OBJECT IDENTIFIER or an IpAddress
        if kind in ("oid", "ip"):
            return Raw(kind, v)  # type: ignore[arg-type]
        return Raw("ip" if _looks_ip(v) else "oid", v)  # type: ignore[arg-type]
    return Raw("missing", "unknown_type")  # Opaque floats and the like


def _looks_ip(s: str) -> bool:
    parts = s.split(".")
    # an OID starts 0., 1. or 2. (ITU, ISO, joint); an address needs 4 octets
    return len(parts) == 4 and parts[0] not in ("0", "1", "2") and all(
        p.isdigit() and int(p) < 256 for p in parts)


def _wake(fut: asyncio.Future, value: bool) -> None:
    if not fut.done():
        fut.set_result(value)


class _Resolved(NamedTuple):
    address: str
    until: float  # monotonic


@dataclass
class _V3Link:
    """A v3 device's client, kept: engine id, boots and time are learnt once."""

    client: GufoClient
    fresh_until: float = 0.0  # monotonic; refresh (one report exchange) after it


@dataclass
class GufoEngine:
    """Builds sessions; keeps v3 clients per device and resolved host names."""

    kinds: Mapping[str, str]
    name: str = "gufo"
    _v3: dict[str, _V3Link] = field(default_factory=dict)
    _dns: dict[str, "_Resolved"] = field(default_factory=dict)

    async def session(self, target: Target) -> "GufoSession":
        c = target.credentials
        if c.version == "3":
            link = self._v3.get(target.device_id)
            if link is None:
                client = self._client(target, await self._address(target))
                link = self._v3[target.device_id] = _V3Link(client)
            sess = GufoSession(target, link.client, self.kinds, link)
            if time.monotonic() >= link.fresh_until:
                await sess.refresh()
            return sess
        return GufoSession(target, self._client(target, await self._address(target)), self.kinds)

    async def _address(self, t: Target) -> str:
        """gufo takes IP addresses only: resolve a host name (cached for DNS_TTL_S)."""
        try:
            ipaddress.ip_address(t.host.split("%", 1)[0])  # an address (IPv6 may carry a %zone)
            return t.host
        except ValueError:
            pass
        hit = self._dns.get(t.host)
        if hit and hit.until > time.monotonic():
            return hit.address
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(t.host, t.port, type=socket.SOCK_DGRAM)
        except OSError as e:
            raise SnmpFailure("snmp_error", f"{t.label}: cannot resolve host: {e.strerror or e}") from None
        addr = str(infos[0][4][0])
        self._dns[t.host] = _Resolved(addr, time.monotonic() + DNS_TTL_S)
        return addr

    @staticmethod
    def _client(t: Target, addr: str) -> GufoClient:
        c = t.credentials
        try:
            if c.version == "3":
                return GufoClient(addr, t.port, user=_user(c), version=SnmpVersion.v3,
                                  timeout=t.timeout_s)
            community = c.community.get_secret_value() if c.community else "public"
            return GufoClient(addr, t.port, community=community, timeout=t.timeout_s,
                              version=SnmpVersion.v1 if c.version == "1" else SnmpVersion.v2c)
        except (OSError, ValueError) as e:  # gufo's messages hold no secret; keep only the type
            raise SnmpFailure("snmp_error", f"{t.label}: cannot open an SNMP socket: "
                                            f"{type(e).__name__}") from None

    def forget(self, device_id: str) -> None:
        self._v3.pop(device_id, None)

    def close(self) -> None:
        self._v3.clear()  # dropping a client closes its socket


def _user(c: SnmpCredentials) -> User:
    auth = priv = None
    if c.auth_protocol:
        auth = AUTH_KEYS[c.auth_protocol]((c.auth_key.get_secret_value() if c.auth_key else "").encode())
    if c.priv_protocol:
        priv = PRIV_KEYS[c.priv_protocol]((c.priv_key.get_secret_value() if c.priv_key else "").encode())
    return User(c.user or "", auth_key=auth, priv_key=priv)


class GufoSession:
    """One device's requests during one poll (see the module docstring)."""

    def __init__(self, target: Target, client: GufoClient, kinds: Mapping[str, str],
                 link: Optional[_V3Link] = None):
        self.label = target.label
        self.timeout = target.timeout_s
        self.attempts = target.retries + 1
        self.client = client
        self.sock: Any = client._sock
        self.fd: int = client._fd
        self.v1 = target.credentials.version == "1"
        self.kinds = kinds
        self.link = link

    # -- one request, retried ---------------------------------------------------
    async def _request(self, op: str, send: Callable[[], None], recv: Callable[[], Any]) -> Any:
        loop = asyncio.get_running_loop()
        for _ in range(self.attempts):
            try:
                send()
            except BlockingIOError:
                pass  # send buffer full: as good as a lost datagram, the retry resends
            deadline = loop.time() + self.timeout
            while True:
                fut = loop.create_future()
                loop.add_reader(self.fd, _wake, fut, True)
                timer = loop.call_at(deadline, _wake, fut, False)
                try:
                    readable = await fut
                finally:
                    loop.remove_reader(self.fd)
                    timer.cancel()
                if not readable:
                    break  # this attempt timed out
                try:
                    return recv()
                except BlockingIOError:
                    continue  # an answer to an earlier attempt, already dropped
                except TimeoutError:
                    continue  # "connection refused" (ICMP): wait the attempt out, as pysnmp does
        raise SnmpFailure("snmp_timeout", f"{self.label}: SNMP {op} failed: no answer "
                                          f"({self.attempts} x {self.timeout:g} s)")

    async def _ask(self, op: str, send: Callable[[], None], recv: Callable[[], Any]) -> Any:
        """A request with every library error mapped to an ap_status reason."""
        try:
            try:
                return await self._request(op, send, recv)
            except SnmpAuthError:
                if self.link is None:
                    raise
                # v3: the agent rebooted (boots) or we paused too long (time): learn, ask again
                await self.refresh()
                return await self._request(op, send, recv)
        except (SnmpFailure, *_PASS_THROUGH):
            raise
        except SnmpAuthError:
            raise SnmpFailure("snmp_auth", f"{self.label}: SNMP {op} failed: the agent reported "
                                           f"an authentication error") from None
        except Exception as e:  # gufo's messages are fixed texts, never a secret
            raise SnmpFailure("snmp_error", f"{self.label}: SNMP {op} failed: "
                                            f"{type(e).__name__}: {e}") from None
        except BaseException as e:  # pyo3's PanicException: a value gufo cannot convert
            raise SnmpFailure("snmp_error", f"{self.label}: SNMP {op} failed: undecodable "
                                            f"answer ({type(e).__name__})") from None

    async def refresh(self) -> None:
        """v3: discover the agent's engine id / learn its boots and time (retried)."""
        assert self.link is not None
        for _ in range(self.attempts):
            try:
                await self.client.refresh()
            except TimeoutError:
                continue
            except SnmpAuthError:
                raise SnmpFailure("snmp_auth", f"{self.label}: SNMPv3 engine discovery failed: "
                                               f"the agent reported an authentication error") from None
            except (SnmpFailure, *_PASS_THROUGH):
                raise
            except Exception as e:
                raise SnmpFailure("snmp_error", f"{self.label}: SNMPv3 engine discovery failed: "
                                                f"{type(e).__name__}") from None
            self.link.fresh_until = time.monotonic() + V3_REFRESH_AFTER_S
            return
        raise SnmpFailure("snmp_timeout", f"{self.label}: SNMPv3 engine discovery failed: no answer "
                                          f"({self.attempts} x {self.timeout:g} s)")

    def _answered(self) -> None:
        if self.link is not None:
            self.link.fresh_until = time.monotonic() + V3_REFRESH_AFTER_S

    # -- the three questions ---------------------------------------------------------
    async def get(self, oids: Sequence[str]) -> dict[str, Raw]:
        out: dict[str, Raw] = {}
        sock, kinds = self.sock, self.kinds
        for i in range(0, len(oids), MAX_VARBINDS):
            chunk = list(oids[i:i + MAX_VARBINDS])
            got = await self._ask("GET", lambda: sock.send_get_many(chunk), sock.recv_get_many)
            if self.v1 and len(chunk) > 1 and len(got) < len(chunk):
                # v1 fails the whole PDU for one missing OID (noSuchName): ask one by one
                for one in chunk:
                    got.update(await self._ask("GET", lambda o=[one]: sock.send_get_many(o),
                                               sock.recv_get_many))
            for o in chunk:
                v = got.get(o)
                out[o] = ABSENT if v is None else gufo_raw(v, kinds.get(o))
        self._answered()
        return out

    async def get_next(self, oids: Sequence[str]) -> dict[str, str]:
        """One GETNEXT per subtree (gufo carries one OID per GETNEXT)."""
        out: dict[str, str] = {}
        sock = self.sock
        for o in oids:
            it = GetIter(o)
            try:
                name, _ = await self._ask("GETNEXT", lambda: sock.send_get_next(it),
                                          lambda: sock.recv_get_next(it))
            except StopAsyncIteration:
                continue  # nothing inside the subtree
            if name.startswith(o + "."):
                out[o] = name
        self._answered()
        return out

    async def walk_columns(self, columns: Sequence[str], max_rows: int, first_reps: int = 10,
                           deadline: Optional[float] = None) -> Walk:
        result: dict[str, dict[Index, Raw]] = {}
        truncated = False
        reps = max(2, min(first_reps, MAX_VARBINDS))
        for col in columns:
            if deadline is not None and time.monotonic() >= deadline:
                self._answered()
                return Walk(result, True, True)
            rows, cut = await self._walk_one(col, max_rows, reps, deadline)
            result[col] = rows
            truncated = truncated or cut
            if cut and deadline is not None and time.monotonic() >= deadline:
                self._answered()
                return Walk(result, True, True)
        self._answered()
        return Walk(result, truncated)

    async def _walk_one(self, col: str, max_rows: int, reps: int,
                        deadline: Optional[float] = None) -> tuple[dict[Index, Raw], bool]:
        """One column: GETBULK of ``reps`` rows a request (GETNEXT under v1) until it ends."""
        sock, kind, plen = self.sock, self.kinds.get(col), len(col) + 1
        if self.v1:
            it = GetIter(col)
            send, recv, op = (lambda: sock.send_get_next(it)), (lambda: [sock.recv_get_next(it)]), "GETNEXT"
        else:
            it = GetIter(col, reps)
            send, recv, op = (lambda: sock.send_get_bulk(it)), (lambda: sock.recv_get_bulk(it)), "GETBULK"
        rows: dict[Index, Raw] = {}
        last: Optional[Index] = None
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                return rows, True
            try:
                batch = await self._ask(op, send, recv)
            except StopAsyncIteration:
                return rows, False  # endOfMibView, or nothing left in the subtree
            for item in batch:
                if item is None:
                    return rows, False  # the agent left the column
                name, value = item
                if len(name) <= plen:
                    return rows, False
                idx = tuple(map(int, name[plen:].split(".")))
                if last is not None and idx <= last:
                    return rows, False  # the agent went backwards: stop rather than loop
                rows[idx] = gufo_raw(value, kind)
                last = idx
                if len(rows) >= max_rows:
                    return rows, True
