"""The SNMP responder: v2c and v3 (USM) messages in, responses out.

One :class:`Agent` per simulated AP (community, localised v3 keys, engine
ID, OID shape); :class:`Responder` turns one datagram into zero or one reply
datagram. Like a real agent it stays silent on a wrong community, answers
USM errors with Report PDUs (unknown engine ID, unknown user, wrong digest,
not in time window, decryption error) and never answers while the AP is
down. Values are computed at request time (``mib.Snap``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Optional

from . import ber
from .ber import (COUNTER32, END_OF_MIB_VIEW, GET, GETBULK, GETNEXT, INTEGER, NO_SUCH_INSTANCE,
                  NO_SUCH_OBJECT, OCTET_STRING, REPORT, RESPONSE, SEQUENCE, BerError, dec_int,
                  dec_oid, enc_int, enc_octets, expect, read_tlv, tlv)
from .mib import Shape, Snap
from .usm import UsmUser, aes_cfb

USM_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)
UNSUPPORTED_SEC_LEVELS, NOT_IN_TIME_WINDOWS, UNKNOWN_USER_NAMES = 1, 2, 3
UNKNOWN_ENGINE_IDS, WRONG_DIGESTS, DECRYPTION_ERRORS = 4, 5, 6
MAX_UDP = 65507
MAX_VARBINDS = 1000
TIME_WINDOW = 150


@dataclass
class Agent:
    """Everything the responder needs about one simulated AP."""

    ap_id: str
    shape: Shape
    community: Optional[bytes]
    engine_id: bytes
    users: dict[bytes, UsmUser]
    snap: Callable[[float], Snap]  # builds the AP's snapshot at time t
    boot: Callable[[float], float]  # last boot at or before t
    stats: dict[str, int] = field(default_factory=dict)
    usm_stats: list[int] = field(default_factory=lambda: [0] * 7)


def _count(agent: Agent, what: str) -> None:
    agent.stats[what] = agent.stats.get(what, 0) + 1


def engine_clock(boot: float, t: float) -> tuple[int, int]:
    """(engineBoots, engineTime): boots grows with every reboot (minutes since 2020)."""
    boots = max(1, int((boot - 1577836800) // 60) + 1)
    return min(boots, 2147483646), max(0, int(t - boot))


def _varbind(oid_tlv: bytes, value: bytes) -> bytes:
    return tlv(SEQUENCE, oid_tlv + value)


class Responder:
    """Stateless message processing shared by every agent of a process."""

    def __init__(self) -> None:
        self._salt = int.from_bytes(os.urandom(8), "big")

    # --- PDU ------------------------------------------------------------
    def _get(self, sh: Shape, snap: Snap, oid: tuple) -> bytes:
        i = sh.index.get(oid)
        if i is not None:
            return sh.enc[i] + sh.getters[i](snap, sh.args[i])
        j = sh.next_after(oid[:-1])
        known = j < len(sh.oids) and sh.oids[j][:len(oid) - 1] == oid[:-1]
        return ber.enc_oid(oid) + bytes((NO_SUCH_INSTANCE if known else NO_SUCH_OBJECT, 0))

    def _next(self, sh: Shape, snap: Snap, oid: tuple) -> tuple[bytes, Optional[tuple]]:
        i = sh.next_after(oid)
        if i >= len(sh.oids):
            return ber.enc_oid(oid) + bytes((END_OF_MIB_VIEW, 0)), None
        return sh.enc[i] + sh.getters[i](snap, sh.args[i]), sh.oids[i]

    def process_pdu(self, agent: Agent, data: bytes, pos: int, end: int, t: float,
                    max_size: int) -> Optional[bytes]:
        """Encoded Response PDU for the request PDU at ``pos`` (None: ignore it)."""
        tag, ps, pe = read_tlv(data, pos, end)
        if tag not in (GET, GETNEXT, GETBULK):
            _count(agent, "unsupported_pdu")
            return None
        rs, re_ = expect(data, ps, pe, INTEGER)
        rid_tlv = data[ps:re_]
        a_s, a_e = expect(data, re_, pe, INTEGER)
        b_s, b_e = expect(data, a_e, pe, INTEGER)
        vs, ve = expect(data, b_e, pe, SEQUENCE)
        oids = []
        p = vs
        while p < ve:
            s, e = expect(data, p, ve, SEQUENCE)
            os_, oe = expect(data, s, e, ber.OID)
            oids.append(dec_oid(data, os_, oe))
            p = e
        if len(oids) > MAX_VARBINDS:
            raise BerError("too many varbinds")
        snap = agent.snap(t)
        sh = agent.shape
        out: list[bytes] = []
        if tag == GET:
            out = [_varbind(b"", self._get(sh, snap, o)) for o in oids]
        elif tag == GETNEXT:
            out = [_varbind(b"", self._next(sh, snap, o)[0]) for o in oids]
        else:
            nonrep = max(0, dec_int(data, a_s, a_e))
            maxrep = max(0, dec_int(data, b_s, b_e))
            size = 0
            for o in oids[:nonrep]:
                vb = _varbind(b"", self._next(sh, snap, o)[0])
                out.append(vb)
                size += len(vb)
            cursors: list[Optional[tuple]] = list(oids[nonrep:])
            budget = max_size - 150
            for _ in range(min(maxrep, MAX_VARBINDS)):
                if not cursors or all(c is None for c in cursors) or len(out) >= MAX_VARBINDS:
                    break
                row = []
                for k, c in enumerate(cursors):
                    if c is None:  # stays at endOfMibView
                        row.append(_varbind(b"", ber.enc_oid(oids[nonrep + k]) + bytes((END_OF_MIB_VIEW, 0))))
                        continue
                    vb_body, nxt = self._next(sh, snap, c)
                    row.append(_varbind(b"", vb_body))
                    cursors[k] = nxt
                rsize = sum(len(v) for v in row)
                if out and size + rsize > budget:
                    break
                out += row
                size += rsize
        body = b"".join(out)
        if len(body) > max_size - 100 and tag != GETBULK:
            return tlv(RESPONSE, rid_tlv + enc_int(1) + enc_int(0) + tlv(SEQUENCE, b""))  # tooBig
        return tlv(RESPONSE, rid_tlv + b"\x02\x01\x00\x02\x01\x00" + tlv(SEQUENCE, body))

    # --- messages -----------------------------------------------------------
    def handle(self, agent: Agent, data: bytes, t: float) -> Optional[bytes]:
        """Reply datagram for ``data`` received at time ``t`` (None: stay silent)."""
        try:
            end = len(data)
            s, e = expect(data, 0, end, SEQUENCE)
            vs, ve = expect(data, s, e, INTEGER)
            version = dec_int(data, vs, ve)
            if version == 1:
                return self._v2c(agent, data, ve, e, t)
            if version == 3:
                return self._v3(agent, data, ve, e, t)
            _count(agent, "bad_version")
            return None
        except (BerError, ValueError, IndexError):
            _count(agent, "malformed")
            return None

    def _v2c(self, agent: Agent, data: bytes, pos: int, end: int, t: float) -> Optional[bytes]:
        cs, ce = expect(data, pos, end, OCTET_STRING)
        if agent.community is None or data[cs:ce] != agent.community:
            _count(agent, "bad_community")
            return None
        pdu = self.process_pdu(agent, data, ce, end, t, MAX_UDP)
        if pdu is None:
            return None
        _count(agent, "answered")
        return tlv(SEQUENCE, b"\x02\x01\x01" + data[pos:ce] + pdu)

    def _report(self, agent: Agent, which: int, msg_id: int, req_id: int, boots: int, etime: int,
                user: Optional[UsmUser], user_name: bytes, ctx_name: bytes) -> bytes:
        agent.usm_stats[which] += 1
        _count(agent, "report")
        vb = _varbind(ber.enc_oid(USM_STATS + (which, 0)), enc_int(agent.usm_stats[which], COUNTER32))
        pdu = tlv(REPORT, enc_int(req_id) + b"\x02\x01\x00\x02\x01\x00" + tlv(SEQUENCE, vb))
        scoped = tlv(SEQUENCE, enc_octets(agent.engine_id) + enc_octets(ctx_name) + pdu)
        return self._wrap(agent, msg_id, user if (user and which == NOT_IN_TIME_WINDOWS) else None,
                          False, boots, etime, user_name, scoped)

    def _wrap(self, agent: Agent, msg_id: int, auth_user: Optional[UsmUser], priv: bool,
              boots: int, etime: int, user_name: bytes, scoped: bytes, extra_flags: int = 0) -> bytes:
        """Serialise a v3 message; authenticate (and encrypt) with ``auth_user``.

        Requests have the same layout (the agent is the authoritative engine
        both ways), so tests and the benchmark build v3 requests with it too
        (``extra_flags=4``: reportable).
        """
        flags = (1 if auth_user else 0) | (2 if priv else 0) | extra_flags
        salt = b""
        if priv and auth_user is not None:
            self._salt = (self._salt + 1) & 0xFFFFFFFFFFFFFFFF
            salt = self._salt.to_bytes(8, "big")
            assert auth_user.priv_key is not None
            msg_data = enc_octets(aes_cfb(auth_user.priv_key, boots, etime, salt, scoped, False))
        else:
            msg_data = scoped
        mac_len = auth_user.mac_len if auth_user else 0
        head = (enc_octets(agent.engine_id) + enc_int(boots) + enc_int(etime) + enc_octets(user_name))
        auth_tlv_head = bytes((OCTET_STRING,)) + ber.enc_len(mac_len)
        sec_body = head + auth_tlv_head + b"\x00" * mac_len + enc_octets(salt)
        sec_seq = tlv(SEQUENCE, sec_body)
        sec = tlv(OCTET_STRING, sec_seq)
        glob = tlv(SEQUENCE, enc_int(msg_id) + enc_int(MAX_UDP) + tlv(OCTET_STRING, bytes((flags,)))
                   + enc_int(3))
        inner = b"\x02\x01\x03" + glob + sec + msg_data
        msg = bytearray(tlv(SEQUENCE, inner))
        if auth_user is not None:
            outer_head = len(msg) - len(inner)
            sec_seq_head = len(sec_seq) - len(sec_body)
            sec_head = len(sec) - len(sec_seq)
            off = (outer_head + 3 + len(glob) + sec_head + sec_seq_head + len(head) + len(auth_tlv_head))
            msg[off:off + mac_len] = auth_user.mac(bytes(msg))
        return bytes(msg)

    def _v3(self, agent: Agent, data: bytes, pos: int, end: int, t: float) -> Optional[bytes]:
        gs, ge = expect(data, pos, end, SEQUENCE)
        s1, e1 = expect(data, gs, ge, INTEGER)
        msg_id = dec_int(data, s1, e1)
        s2, e2 = expect(data, e1, ge, INTEGER)
        max_size = min(max(dec_int(data, s2, e2), 484), MAX_UDP)
        s3, e3 = expect(data, e2, ge, OCTET_STRING)
        if e3 - s3 != 1:
            raise BerError("bad msgFlags")
        flags = data[s3]
        s4, e4 = expect(data, e3, ge, INTEGER)
        if dec_int(data, s4, e4) != 3:
            _count(agent, "bad_security_model")
            return None
        sps, spe = expect(data, ge, end, OCTET_STRING)
        qs, qe = expect(data, sps, spe, SEQUENCE)
        es_, ee = expect(data, qs, qe, OCTET_STRING)
        bs, be = expect(data, ee, qe, INTEGER)
        ts, te = expect(data, be, qe, INTEGER)
        us, ue = expect(data, te, qe, OCTET_STRING)
        aus, aue = expect(data, ue, qe, OCTET_STRING)
        pvs, pve = expect(data, aue, qe, OCTET_STRING)
        engine_id, user_name = data[es_:ee], data[us:ue]
        msg_boots, msg_time = dec_int(data, bs, be), dec_int(data, ts, te)
        auth_flag, priv_flag, reportable = flags & 1, flags & 2, flags & 4
        boots, etime = engine_clock(agent.boot(t), t)
        # Plaintext scoped PDU (if any): request-id and context for reports.
        req_id, ctx_name = 0, b""
        if not priv_flag:
            try:
                ss, se = expect(data, spe, end, SEQUENCE)
                ces, cee = expect(data, ss, se, OCTET_STRING)
                cns, cne = expect(data, cee, se, OCTET_STRING)
                ctx_name = data[cns:cne]
                _, ps, pe = read_tlv(data, cne, se)
                rs, re_ = expect(data, ps, pe, INTEGER)
                req_id = dec_int(data, rs, re_)
            except BerError:
                pass

        def report(which: int, user: Optional[UsmUser] = None) -> Optional[bytes]:
            if not reportable:
                _count(agent, "dropped_unreportable")
                return None
            return self._report(agent, which, msg_id, req_id, boots, etime, user, user_name, ctx_name)

        if engine_id != agent.engine_id:
            return report(UNKNOWN_ENGINE_IDS)
        user = agent.users.get(user_name)
        if user is None:
            return report(UNKNOWN_USER_NAMES)
        if bool(auth_flag) != bool(user.auth_key) or bool(priv_flag) != bool(user.priv_key):
            return report(UNSUPPORTED_SEC_LEVELS)
        if auth_flag:
            if aue - aus != user.mac_len:
                return report(WRONG_DIGESTS)
            zeroed = data[:aus] + b"\x00" * user.mac_len + data[aue:]
            if user.mac(zeroed) != data[aus:aue]:
                _count(agent, "bad_auth")
                return report(WRONG_DIGESTS)
            if msg_boots != boots or abs(msg_time - etime) > TIME_WINDOW:
                return report(NOT_IN_TIME_WINDOWS, user)
        if priv_flag:
            if pve - pvs != 8:
                return report(DECRYPTION_ERRORS)
            cs, ce = expect(data, spe, end, OCTET_STRING)
            assert user.priv_key is not None
            plain = aes_cfb(user.priv_key, msg_boots, msg_time, data[pvs:pve], data[cs:ce], True)
            try:
                ss, se = expect(plain, 0, len(plain), SEQUENCE)
            except BerError:
                return report(DECRYPTION_ERRORS)
            buf = plain
        else:
            buf = data
            ss, se = expect(data, spe, end, SEQUENCE)
        ces, cee = expect(buf, ss, se, OCTET_STRING)
        cns, cne = expect(buf, cee, se, OCTET_STRING)
        pdu = self.process_pdu(agent, buf, cne, se, t, max_size - 100)
        if pdu is None:
            return None
        scoped = tlv(SEQUENCE, enc_octets(agent.engine_id) + enc_octets(buf[cns:cne]) + pdu)
        _count(agent, "answered")
        return self._wrap(agent, msg_id, user if auth_flag else None, bool(priv_flag), boots, etime,
                          user_name, scoped)
