"""The running simulator: one UDP endpoint per AP, a clock, runtime events."""
from __future__ import annotations

import asyncio
import logging
import resource
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Optional, Union

from ..config.models import AccessPoint, Config
from .agent import Agent, Responder, engine_clock
from .mib import Snap, shape
from .model import FleetModel
from .plan import INF, Event, Plan, Rates
from .usm import make_user

log = logging.getLogger(__name__)
TimeLike = Union[float, int, datetime, None]
ADDRESSING = ("config", "ports", "ips")


class Clock:
    """Simulated time: real time by default, or shifted/sped up for tests."""

    def __init__(self, start: Optional[float] = None, speed: float = 1.0) -> None:
        self._real0 = time.time()
        self._sim0 = self._real0 if start is None else float(start)
        self.speed = speed

    def now(self) -> float:
        return self._sim0 + (time.time() - self._real0) * self.speed

    def set(self, t: float) -> None:
        """Jump to simulated time t (tests: ``Clock(t, speed=0)`` is a frozen clock)."""
        self._real0, self._sim0 = time.time(), float(t)


def _ts(v: TimeLike, default: float) -> float:
    if v is None:
        return default
    if isinstance(v, datetime):
        return v.timestamp()
    return float(v)


def ip_address_for(i: int, prefix: str = "127.1") -> str:
    """The i-th loopback address of ``ips`` addressing (127.1.0.1, 127.1.0.2, ...)."""
    return f"{prefix}.{i // 254}.{i % 254 + 1}"


@dataclass
class ApState:
    """What an AP reports at one instant (for MQTT, backfill and tests)."""

    up: bool
    reason: Optional[str]
    uptime_s: int
    clients_24: int
    clients_5: int
    counters: dict[str, tuple[int, int]]  # iface -> (in/rx bytes, out/tx bytes), raw counter values
    bits: int
    cpu_pct: float
    mem_pct: float
    temp_c: float


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, sim: "Simulator", agent: Agent) -> None:
        self.sim, self.agent = sim, agent
        self.transport: Optional[asyncio.DatagramTransport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        sim = self.sim
        t = sim.clock.now()
        sim.requests += 1
        if sim.plan.down_reason(self.agent.ap_id, t):
            sim.dropped_down += 1
            return
        try:
            reply = sim.responder.handle(self.agent, data, t)
        except Exception:  # a bug must not stop the other agents
            sim.errors += 1
            if sim.errors <= 10 or sim.errors % 1000 == 0:
                log.exception("simulator: error answering %s (%d errors)", self.agent.ap_id, sim.errors)
            return
        if reply is not None and self.transport is not None:
            sim.answered += 1
            self.transport.sendto(reply, addr)


class Simulator:
    """A fleet of simulated APs on loopback (see the package docstring)."""

    def __init__(self, config: Config, seed: int = 1, *, addressing: str = "config",
                 host: str = "127.0.0.1", base_port: int = 0, port: int = 1161,
                 ip_prefix: str = "127.1", clock: Optional[Clock] = None,
                 rates: Rates = Rates(), mqtt: Optional[bool] = None,
                 shard: tuple[int, int] = (0, 1)) -> None:
        if addressing not in ADDRESSING:
            raise ValueError(f"addressing must be one of {ADDRESSING}")
        if not (shard[1] >= 1 and 0 <= shard[0] < shard[1]):
            raise ValueError("shard must be i/n with 0 <= i < n")
        self.config = config
        self.seed = seed
        self.model = FleetModel(config, seed)
        self.plan = Plan(self.model, rates)
        self.clock = clock or Clock()
        self.responder = Responder()
        self.addressing, self.host, self.base_port, self.port, self.ip_prefix = (
            addressing, host, base_port, port, ip_prefix)
        self.mqtt_enabled = config.mqtt.enabled if mqtt is None else mqtt
        # A shard serves every n-th AP of the config (by position); addresses stay
        # those of the whole fleet, so shards never collide.
        self.served = [(k, ap) for k, ap in enumerate(config.aps) if k % shard[1] == shard[0]]
        self.agents = {ap.id: self._agent(ap) for _, ap in self.served}
        self.endpoints: dict[str, tuple[str, int]] = {}
        self._transports: list[asyncio.DatagramTransport] = []
        self._mqtt = None
        self.requests = self.answered = self.dropped_down = self.errors = 0

    # --- set-up ---------------------------------------------------------------
    def _agent(self, ap: AccessPoint) -> Agent:
        spec = self.model.aps[ap.id]
        cred = self.config.credentials(ap)
        engine_id = b"\x80\x00\x1f\x88\x03" + spec.mac
        users = {}
        community = None
        if cred.version == "3":
            u = make_user(cred.user or "", cred.auth_protocol,
                          cred.auth_key.get_secret_value() if cred.auth_key else None,
                          cred.priv_protocol,
                          cred.priv_key.get_secret_value() if cred.priv_key else None, engine_id)
            users[u.name] = u
        elif cred.community is not None:
            community = cred.community.get_secret_value().encode()
        site_name = self.model.sites[ap.site].name
        model, plan = self.model, self.plan
        ap_id, label = ap.id, ap.label

        def boot(t: float) -> float:
            return plan.last_boot(ap_id, t)

        def snap(t: float) -> Snap:
            return Snap(model, spec, t, plan.last_boot(ap_id, t), site_name, label)

        return Agent(ap_id, shape(spec.vendor, spec.hc, spec.ncpu), community, engine_id, users, snap, boot)

    def _address(self, i: int, ap: AccessPoint) -> tuple[str, int]:
        if self.addressing == "config":
            return ap.host or self.host, ap.port
        if self.addressing == "ports":
            return self.host, (self.base_port + i) if self.base_port else 0
        return ip_address_for(i, self.ip_prefix), self.port

    async def start(self) -> None:
        """Bind one UDP endpoint per AP (and start MQTT publishers if enabled)."""
        _raise_nofile(len(self.agents) + 256)
        loop = asyncio.get_running_loop()
        try:
            for i, ap in self.served:
                if self.addressing == "config" and ap.host is None:
                    continue  # an MQTT-only AP: nothing polls it over SNMP
                addr = self._address(i, ap)
                tr, _ = await loop.create_datagram_endpoint(
                    lambda a=self.agents[ap.id]: _Proto(self, a), local_addr=addr)
                self._transports.append(tr)
                self.endpoints[ap.id] = tr.get_extra_info("sockname")[:2]
        except OSError as e:
            self.stop()
            raise OSError(f"simulator cannot bind {addr[0]}:{addr[1]} for AP {ap.id}: {e.strerror}") from None
        if self.mqtt_enabled:
            from .publisher import MqttFleet
            self._mqtt = MqttFleet(self)
            await self._mqtt.start()

    def stop(self) -> None:
        if self._mqtt is not None:
            self._mqtt.stop()
            self._mqtt = None
        for tr in self._transports:
            tr.close()
        self._transports.clear()

    async def __aenter__(self) -> "Simulator":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    # --- runtime events -----------------------------------------------------
    def now(self) -> float:
        return self.clock.now()

    def force_down(self, ap_id: str, until: TimeLike = None, at: TimeLike = None) -> None:
        """Stop answering (and publishing) from ``at`` (now) until ``until`` or force_up."""
        self.model.aps[ap_id]  # KeyError for an unknown AP
        self.plan.runtime.down.setdefault(ap_id, []).append([_ts(at, self.now()), _ts(until, INF)])

    def force_up(self, ap_id: str, reboot: bool = False) -> None:
        """End every runtime outage of the AP now; ``reboot`` restarts uptime/counters."""
        now = self.now()
        for iv in self.plan.runtime.down.get(ap_id, []):
            if iv[1] > now:
                iv[1] = now
        if reboot:
            self.reboot(ap_id)

    def reboot(self, ap_id: str, at: TimeLike = None) -> None:
        self.plan.runtime.boots.setdefault(ap_id, []).append(_ts(at, self.now()))

    def power_cut(self, site_id: str, until: TimeLike = None, at: TimeLike = None) -> None:
        """Every AP of the site goes down (MQTT: unclean disconnect, last will fires)."""
        self.model.sites[site_id]
        self.plan.runtime.cuts.setdefault(site_id, []).append([_ts(at, self.now()), _ts(until, INF)])

    def power_restore(self, site_id: str) -> None:
        """Power back now: the site's APs boot (uptime and counters restart)."""
        now = self.now()
        for iv in self.plan.runtime.cuts.get(site_id, []):
            if iv[1] > now:
                iv[1] = now
        for ap_id in self.model.site_aps[site_id]:
            self.reboot(ap_id, now)

    def events(self, start: TimeLike, end: TimeLike) -> list[Event]:
        """Planned and runtime events starting in [start, end)."""
        now = self.now()
        return self.plan.events(_ts(start, now - 86400), _ts(end, now + 86400))

    # --- values -------------------------------------------------------------
    def state(self, ap_id: str, t: TimeLike = None) -> ApState:
        """The AP's values at t, identical to what its SNMP agent answers."""
        from .mib import IFACES
        tt = _ts(t, self.now())
        spec = self.model.aps[ap_id]
        reason = self.plan.down_reason(ap_id, tt)
        snap = Snap(self.model, spec, tt, self.plan.last_boot(ap_id, tt), "", ap_id)
        bits = 64 if spec.hc else 32
        mask = (1 << bits) - 1
        counters = {name: (snap.counter(role, "in") & mask, snap.counter(role, "out") & mask)
                    for _, name, _, role, _ in IFACES[spec.vendor] if role != "lo"}
        c24, c5 = snap.clients()
        return ApState(reason is None, reason, int(tt - snap.boot), c24, c5, counters, bits,
                       float(self.model.cpu_pct(ap_id, tt)), round(self.model.mem_pct_exact(ap_id, tt), 4),
                       self.model.temp_c(ap_id, tt))

    def engine_clock(self, ap_id: str, t: TimeLike = None) -> tuple[int, int]:
        tt = _ts(t, self.now())
        return engine_clock(self.plan.last_boot(ap_id, tt), tt)

    def collector_config(self) -> Config:
        """The config with every AP pointing at its simulated endpoint (after start)."""
        aps = [ap.model_copy(update={"host": self.endpoints[ap.id][0], "port": self.endpoints[ap.id][1]})
               if ap.id in self.endpoints else ap for ap in self.config.aps]
        return self.config.model_copy(update={"aps": aps})


def _raise_nofile(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(need, soft), hard), hard))
