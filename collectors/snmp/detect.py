"""Pick a device's profile from sysObjectID, sysDescr and probe OIDs.

One GET asks for sysDescr, sysObjectID and every profile's probe OIDs; each
profile whose criteria all hold is a candidate and the highest ``priority``
wins (``generic`` matches everything at priority 0). When that leaves only
``generic`` (older firmware with net-snmp's generic Linux sysObjectID, an
OEM's enterprise number), one GETNEXT on every profile's ``signature``
subtrees follows: a family whose subtree holds an instance wins, again by
priority. Done once per device; the poller remembers the answer.
"""
from __future__ import annotations

import re
from typing import Mapping

from .profile import Profile
from .values import Raw

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"


def detect_oids(profiles: Mapping[str, Profile]) -> list[str]:
    oids = [SYS_DESCR, SYS_OBJECT_ID]
    for p in profiles.values():
        for o in p.detect.probe:
            if o not in oids:
                oids.append(o)
    return oids


def _under(oid: str, prefix: str) -> bool:
    return oid == prefix or oid.startswith(prefix + ".")


def matches(p: Profile, got: Mapping[str, Raw]) -> bool:
    d = p.detect
    descr_raw = got.get(SYS_DESCR)
    descr = descr_raw.value.decode("utf-8", "replace") if descr_raw and descr_raw.kind == "bytes" else ""
    oid_raw = got.get(SYS_OBJECT_ID)
    sys_oid = str(oid_raw.value) if oid_raw and oid_raw.kind == "oid" else ""
    if d.sys_object_id and not any(_under(sys_oid, pre) for pre in d.sys_object_id):
        return False
    if d.sys_descr and not re.search(d.sys_descr, descr):
        return False
    if d.probe and not any(got.get(o) is not None and got[o].kind != "missing" for o in d.probe):
        return False
    return True


def choose(profiles: Mapping[str, Profile], got: Mapping[str, Raw]) -> Profile:
    """The matching profile with the highest priority (ties: by name)."""
    best = sorted((p for p in profiles.values() if matches(p, got)),
                  key=lambda p: (-p.detect.priority, p.name))
    return best[0] if best else profiles["generic"]


def signature_oids(profiles: Mapping[str, Profile]) -> list[str]:
    """Every profile's signature subtrees, in a stable order, once each."""
    out: list[str] = []
    for name in sorted(profiles):
        for o in profiles[name].detect.signature:
            if o not in out:
                out.append(o)
    return out


def by_signature(profiles: Mapping[str, Profile], found: Mapping[str, str]) -> Profile | None:
    """The best profile with a signature subtree that holds an instance.

    ``found`` maps each asked subtree to the OID its GETNEXT returned (absent
    when the agent answered endOfMibView or nothing).
    """
    def present(sub: str) -> bool:
        nxt = found.get(sub)
        return nxt is not None and nxt.startswith(sub + ".")

    best = sorted((p for p in profiles.values() if any(present(o) for o in p.detect.signature)),
                  key=lambda p: (-p.detect.priority, p.name))
    return best[0] if best else None
