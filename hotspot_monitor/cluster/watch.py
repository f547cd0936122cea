"""The leader's watch over the other shards.

Every housekeeping pass the leader reads the heartbeats of the ``n`` shards of
its own ``i/n``. A shard is *down* when its row is older than
``collector.shard_timeout_s``, says it stopped, or (once the leader has
waited that long itself) does not exist. A down shard's APs are nobody's:
their observed stretches end at their last observation (never after the
shard's last heartbeat) and they read as ``unknown`` with reason
``shard_down`` - not up, not down, and unmonitored in availability - until
their shard observes them again. Each down shard is a ``monitor_unhealthy``
condition (reason ``shard_down``), since its last heartbeat.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from ..config.models import Config
from ..status.statestore import StateStore
from .heartbeats import Heartbeat, Heartbeats
from .ownership import ShardId, aps_by_shard

log = logging.getLogger("hotspot_monitor.cluster")
SHARD_DOWN = "shard_down"


@dataclass(frozen=True, slots=True)
class ShardDown:
    shard: str
    since: datetime  # its last heartbeat (or when the leader began waiting for it)
    aps: int
    host: Optional[str]
    pid: Optional[int]


class ShardWatch:
    def __init__(self, cfg: Config, shard: ShardId, states: StateStore, heartbeats: Heartbeats,
                 timeout_s: float, started_at: datetime):
        self.shard = shard
        self.states = states
        self.heartbeats = heartbeats
        self.timeout = timedelta(seconds=timeout_s)
        self.started_at = started_at
        self._aps = aps_by_shard(cfg, shard.count)
        self._blinded: dict[str, datetime] = {}  # shard -> the heartbeat time it was blinded for
        self.down: dict[str, ShardDown] = {}
        self.alive: dict[str, Heartbeat] = {}  # this n's live shards, as last read
        # rows of another shard count: the live ones poll our APs too (None: not alive)
        self.foreign: dict[str, Optional[Heartbeat]] = {}

    def check(self, now: datetime) -> dict[str, ShardDown]:
        """Find the down shards and blind their APs; returns them by shard key."""
        if not self.shard.sharded:
            return {}
        rows: dict[str, Heartbeat] = {h.shard: h for h in self.heartbeats.all()}
        down: dict[str, ShardDown] = {}
        alive: dict[str, Heartbeat] = {}
        for i in range(self.shard.count):
            key = f"{i}/{self.shard.count}"
            hb = rows.get(key)
            if hb is not None and hb.alive(now, self.timeout.total_seconds()):
                self._blinded.pop(key, None)
                alive[key] = hb
                continue
            if hb is None and now - self.started_at <= self.timeout:
                continue  # it may be starting: give it as long as a heartbeat may be late
            since = hb.last_seen if hb is not None else self.started_at
            down[key] = ShardDown(key, since, len(self._aps[i]), hb.host if hb else None,
                                  hb.pid if hb else None)
            if self._blinded.get(key) != since:
                n = self.states.blind_aps(self._aps[i], SHARD_DOWN, since)
                self.states.stop_stale_sessions(key)
                self._blinded[key] = since
                log.error("shard %s is down (last heartbeat %s%s): %d of its %d APs are now "
                          "unmonitored", key, since.isoformat(),
                          f" from {hb.host} pid {hb.pid}" if hb else ", never started",
                          n, len(self._aps[i]))
        foreign = {k: h if h.alive(now, self.timeout.total_seconds()) else None
                   for k, h in rows.items() if h.count != self.shard.count}
        for k in sorted(k for k, h in foreign.items() if h is not None and self.foreign.get(k) is None):
            log.error("shard %s (%s pid %d) runs with another shard count than %s: an AP may be "
                      "polled by two shards; stop every shard and start them with one n "
                      "(docs/scaling.md: resharding)", k, foreign[k].host, foreign[k].pid, self.shard)
        self.down, self.alive, self.foreign = down, alive, foreign
        return down

    def forget(self) -> None:
        """Leadership lost: the next leader (maybe us again) starts afresh."""
        self._blinded.clear()
        self.down, self.alive, self.foreign = {}, {}, {}
