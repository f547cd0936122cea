"""A small BER codec for the SNMP subset the simulated agents speak.

Why our own: pysnmp's agent framework answers ~300 requests/s; encoding the
handful of types an AP needs by hand is ~20x faster. Decoding is strict
enough to reject garbage (``BerError``) and never trusts a length.
"""
from __future__ import annotations

from typing import Iterable

# Universal and application tags.
INTEGER, OCTET_STRING, NULL, OID, SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
IPADDRESS, COUNTER32, GAUGE32, TIMETICKS, OPAQUE, COUNTER64 = 0x40, 0x41, 0x42, 0x43, 0x44, 0x46
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW = 0x80, 0x81, 0x82
# PDU tags (context, constructed).
GET, GETNEXT, RESPONSE, SET, GETBULK, INFORM, TRAP2, REPORT = (
    0xA0, 0xA1, 0xA2, 0xA3, 0xA5, 0xA6, 0xA7, 0xA8)


class BerError(ValueError):
    """Malformed input: the agent counts it and drops the datagram."""


def enc_len(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(b),)) + b


def tlv(tag: int, value: bytes) -> bytes:
    return bytes((tag,)) + enc_len(len(value)) + value


def enc_int(v: int, tag: int = INTEGER) -> bytes:
    """Signed two's complement INTEGER (also used for the unsigned app types)."""
    if tag in (COUNTER32, GAUGE32, TIMETICKS, COUNTER64):
        # Unsigned: add a leading zero byte when the top bit is set.
        n = (v.bit_length() // 8) + 1
        return tlv(tag, v.to_bytes(n, "big")[-n:] if v else b"\x00")
    n = (v + (v < 0)).bit_length() // 8 + 1
    return tlv(tag, v.to_bytes(n, "big", signed=True))


def enc_oid_body(oid: Iterable[int]) -> bytes:
    parts = list(oid)
    if len(parts) < 2:
        parts = parts + [0] * (2 - len(parts))
    out = bytearray()
    for i, sub in enumerate([parts[0] * 40 + parts[1]] + parts[2:]):
        if sub < 0x80:
            out.append(sub)
            continue
        chunk = []
        while sub:
            chunk.append(sub & 0x7F)
            sub >>= 7
        chunk.reverse()
        out += bytes(c | 0x80 for c in chunk[:-1]) + bytes((chunk[-1],))
    return bytes(out)


def enc_oid(oid: Iterable[int]) -> bytes:
    return tlv(OID, enc_oid_body(oid))


def enc_octets(v: bytes | str) -> bytes:
    return tlv(OCTET_STRING, v.encode() if isinstance(v, str) else v)


NULL_TLV = b"\x05\x00"


def read_tlv(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, value_start, value_end) of the TLV at ``pos``; bounds-checked."""
    if pos + 2 > end:
        raise BerError("truncated")
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise BerError("multi-byte tags not supported")
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4 or pos + k > end:
            raise BerError("bad length")
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    if pos + n > end:
        raise BerError("length beyond end")
    return tag, pos, pos + n


def expect(buf: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    t, s, e = read_tlv(buf, pos, end)
    if t != tag:
        raise BerError(f"expected tag {tag:#x}, got {t:#x}")
    return s, e


def dec_int(buf: bytes, s: int, e: int) -> int:
    if e - s > 9 or e == s:
        raise BerError("bad integer")
    return int.from_bytes(buf[s:e], "big", signed=True)


def dec_oid(buf: bytes, s: int, e: int) -> tuple[int, ...]:
    if e == s or e - s > 512:
        raise BerError("bad oid")
    out: list[int] = []
    sub = 0
    for b in buf[s:e]:
        sub = (sub << 7) | (b & 0x7F)
        if not b & 0x80:
            out.append(sub)
            sub = 0
    if buf[e - 1] & 0x80:
        raise BerError("bad oid")
    first = out[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return head + tuple(out[1:])


def dec_seq_items(buf: bytes, s: int, e: int) -> list[tuple[int, int, int]]:
    items = []
    pos = s
    while pos < e:
        t, vs, ve = read_tlv(buf, pos, e)
        items.append((t, vs, ve))
        pos = ve
    return items
