"""Which shard owns which AP: a stable function of the inventory, nothing stored.

An AP belongs to shard ``sha1(key) mod n`` where the key is the AP's id, or,
for an AP seen only through a controller (``controller:`` and no ``host``),
the controller's id: the controller's poll reports those APs, so they live
with it. SHA-1 rather than Python's ``hash()`` (randomised per process), so
every process, on every machine, computes the same owner. Adding or removing
APs never moves the others; changing ``n`` moves about ``1 - 1/n`` of them
(docs/scaling.md: resharding).
"""
from __future__ import annotations

import hashlib
import socket
from dataclasses import dataclass
from typing import Optional

from ..config.models import AccessPoint, Config


@dataclass(frozen=True, slots=True)
class ShardId:
    """Shard ``index`` of ``count`` (``0/1`` is the whole fleet in one process)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: Optional[str]) -> "ShardId":
        """``"i/n"`` (None: the single process ``0/1``)."""
        if not text:
            return cls(0, 1)
        try:
            i, n = (int(x) for x in text.split("/"))
        except ValueError:
            raise ValueError(f"shard must be i/n, got {text!r}") from None
        if n < 1 or not 0 <= i < n:
            raise ValueError(f"shard must be i/n with n >= 1 and 0 <= i < n, got {text!r}")
        return cls(i, n)

    @property
    def key(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def sharded(self) -> bool:
        return self.count > 1

    def __str__(self) -> str:
        return self.key


def shard_of(key: str, count: int) -> int:
    """The shard index of a device id (stable across processes and machines)."""
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % count


def owner_key(ap: AccessPoint) -> str:
    """What an AP's ownership is decided by: itself, or the controller that reports it."""
    return ap.controller if ap.controller and not ap.host else ap.id


def owner_of(ap: AccessPoint, count: int) -> int:
    return shard_of(owner_key(ap), count)


def owned_aps(cfg: Config, shard: ShardId) -> list[AccessPoint]:
    return [a for a in cfg.aps if owner_of(a, shard.count) == shard.index]


def aps_by_shard(cfg: Config, count: int) -> dict[int, list[str]]:
    """Every shard's AP ids (the leader uses it to blind a dead shard's APs)."""
    out: dict[int, list[str]] = {i: [] for i in range(count)}
    for a in cfg.aps:
        out[owner_of(a, count)].append(a.id)
    return out


def shard_config(cfg: Config, shard: ShardId) -> Config:
    """The config as one shard sees it: only its APs and controllers.

    Given to the collectors and the status engine, so that a shard polls,
    subscribes to, counts and keeps state for its own APs only. Everything
    fleet-wide (sites, alerts, partners) is unchanged.
    """
    if not shard.sharded:
        return cfg
    return cfg.model_copy(update={
        "aps": owned_aps(cfg, shard),
        "controllers": [c for c in cfg.controllers if shard_of(c.id, shard.count) == shard.index],
        "collector": cfg.collector.model_copy(update={"shard": shard.key}),
    })


def this_host() -> str:
    return socket.gethostname()
