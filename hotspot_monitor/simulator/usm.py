"""SNMPv3 User-based Security Model crypto (RFC 3414, 3826, 7860).

Key localisation, HMAC authentication and AES-128-CFB privacy. DES and the
AES-192/256 key extensions (which pysnmp and net-snmp disagree on) are not
supported: the simulator refuses such users at start-up.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

try:  # cryptography >= 47 moved CFB to the "decrepit" package
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.modes import CFB

# protocol -> (hash name, truncated MAC length)
AUTH = {
    "MD5": ("md5", 12),
    "SHA": ("sha1", 12),
    "SHA224": ("sha224", 16),
    "SHA256": ("sha256", 24),
    "SHA384": ("sha384", 32),
    "SHA512": ("sha512", 48),
}
PRIV = {"AES": 16, "AES128": 16}


@lru_cache(maxsize=64)
def password_to_key(password: str, proto: str) -> bytes:
    """Ku: hash of 1 MiB of the repeated password (RFC 3414 A.2)."""
    name = AUTH[proto][0]
    pw = password.encode()
    if not pw:
        raise ValueError("empty SNMPv3 key")
    reps = (1048576 // len(pw)) + 1
    data = (pw * reps)[:1048576]
    return hashlib.new(name, data).digest()


def localize(password: str, proto: str, engine_id: bytes) -> bytes:
    """Kul = H(Ku || engineID || Ku)."""
    ku = password_to_key(password, proto)
    return hashlib.new(AUTH[proto][0], ku + engine_id + ku).digest()


@dataclass(frozen=True)
class UsmUser:
    """A user's keys localised to one agent's engine ID."""

    name: bytes
    auth_proto: str | None
    auth_key: bytes | None
    priv_key: bytes | None  # 16-byte AES key

    @property
    def mac_len(self) -> int:
        return AUTH[self.auth_proto][1] if self.auth_proto else 0

    def mac(self, whole_msg: bytes) -> bytes:
        assert self.auth_proto and self.auth_key is not None
        name, n = AUTH[self.auth_proto]
        return hmac.new(self.auth_key, whole_msg, name).digest()[:n]


def make_user(name: str, auth_proto: str | None, auth_pw: str | None,
              priv_proto: str | None, priv_pw: str | None, engine_id: bytes) -> UsmUser:
    if auth_proto is not None and auth_proto not in AUTH:
        raise ValueError(f"auth protocol {auth_proto} not supported by the simulator")
    if priv_proto is not None and priv_proto not in PRIV:
        raise ValueError(f"privacy protocol {priv_proto} not supported by the simulator "
                         "(AES-128 only)")
    ak = localize(auth_pw, auth_proto, engine_id) if auth_proto and auth_pw else None
    pk = None
    if priv_proto and priv_pw and auth_proto:
        pk = localize(priv_pw, auth_proto, engine_id)[:PRIV[priv_proto]]
    return UsmUser(name.encode(), auth_proto, ak, pk)


def aes_cfb(key: bytes, boots: int, etime: int, salt: bytes, data: bytes,
            decrypt: bool) -> bytes:
    """AES-128-CFB128 with IV = boots || time || salt (RFC 3826 3.1.2.1)."""
    iv = boots.to_bytes(4, "big") + etime.to_bytes(4, "big") + salt
    c = Cipher(algorithms.AES(key), CFB(iv))
    op = c.decryptor() if decrypt else c.encryptor()
    return op.update(data) + op.finalize()
