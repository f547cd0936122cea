"""The deterministic fleet model: every value is a pure function of (seed, AP, time).

Time is cut into 5-minute buckets of *local standard time* (the configured
zone's offset on 1 Jan 2020; daylight saving is ignored, Asia/Jakarta has
none). Per AP a weekly table of expected clients and download rate is built
once (site kind's activity curve x service hours x per-bucket noise); a
per-day factor (one hash per site and day: weather, events) scales it. The
download rate is constant within a bucket, so a counter is the closed-form
integral of the rate since the AP's last boot: prefix sums of the weekly
table, one multiplication per whole day in between. No history is replayed
and any instant can be computed on its own.
"""
from __future__ import annotations

import hashlib
import random
from array import array
from dataclasses import dataclass, field
from datetime import datetime, time as dtime
from typing import Optional

from ..config.models import AccessPoint, Config, Site

BUCKET = 300
DAY = 86400
DAY_BUCKETS = DAY // BUCKET
WEEK_BUCKETS = 7 * DAY_BUCKETS
M64 = (1 << 64) - 1
VENDORS = ("unifi", "mikrotik", "generic", "openwrt")


def stable_key(*parts: object) -> int:
    """64-bit key from strings/ints; stable across runs and Python versions."""
    h = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=8)
    return int.from_bytes(h.digest(), "big")


def mix(x: int) -> int:
    """splitmix64 finaliser: a fast, well-spread integer hash."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def u01(key: int, n: int, salt: int = 0) -> float:
    """Deterministic uniform [0, 1) for (key, n, salt)."""
    return mix((key + n * 0x9E3779B97F4A7C15 + salt * 0xD1B54A32D192ED03) & M64) / 18446744073709551616.0


# Hourly activity (0..1) per site kind: (weekdays, Saturday, Sunday), local time.
_NIGHT = [0.02, 0.01, 0.01, 0.01, 0.02]
ACTIVITY: dict[str, tuple[list[float], list[float], list[float]]] = {
    "park": (
        _NIGHT + [0.15, 0.3, 0.25, 0.2, 0.2, 0.25, 0.3, 0.3, 0.3, 0.35, 0.5, 0.7, 0.85, 0.95, 1.0, 0.9, 0.6, 0.3, 0.1],
        _NIGHT + [0.3, 0.6, 0.7, 0.6, 0.55, 0.55, 0.5, 0.5, 0.55, 0.6, 0.75, 0.9, 1.0, 1.0, 1.0, 0.95, 0.75, 0.4, 0.15],
        _NIGHT + [0.4, 0.75, 0.8, 0.7, 0.6, 0.55, 0.5, 0.5, 0.55, 0.6, 0.75, 0.9, 1.0, 1.0, 0.95, 0.85, 0.6, 0.3, 0.1],
    ),
    "square": (
        _NIGHT + [0.1, 0.2, 0.2, 0.2, 0.2, 0.25, 0.25, 0.25, 0.25, 0.3, 0.4, 0.55, 0.75, 0.9, 1.0, 0.95, 0.8, 0.5, 0.15],
        _NIGHT + [0.2, 0.35, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.45, 0.5, 0.6, 0.75, 0.9, 1.0, 1.0, 1.0, 0.9, 0.6, 0.25],
        _NIGHT + [0.3, 0.6, 0.6, 0.5, 0.45, 0.4, 0.4, 0.4, 0.45, 0.5, 0.6, 0.75, 0.9, 1.0, 1.0, 0.95, 0.8, 0.5, 0.2],
    ),
    "street": (  # a car-free-day street: Sunday 06:00-09:00 is the peak of the week
        _NIGHT + [0.05, 0.1, 0.15, 0.15, 0.15, 0.15, 0.2, 0.2, 0.15, 0.15, 0.2, 0.25, 0.3, 0.3, 0.3, 0.25, 0.2, 0.15, 0.05],
        _NIGHT + [0.05, 0.1, 0.15, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.25, 0.3, 0.35, 0.4, 0.4, 0.35, 0.3, 0.2, 0.1],
        _NIGHT + [0.6, 1.0, 1.0, 1.0, 0.5, 0.25, 0.2, 0.2, 0.2, 0.2, 0.25, 0.3, 0.35, 0.35, 0.3, 0.25, 0.2, 0.15, 0.05],
    ),
    "market": (
        [0.02, 0.02, 0.03, 0.1, 0.3] + [0.6, 0.85, 1.0, 1.0, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1, 0.08, 0.05, 0.03, 0.02],
        [0.02, 0.02, 0.03, 0.1, 0.3] + [0.65, 0.9, 1.0, 1.0, 1.0, 0.95, 0.85, 0.75, 0.65, 0.55, 0.45, 0.3, 0.2, 0.15, 0.1, 0.08, 0.05, 0.03, 0.02],
        [0.02, 0.02, 0.03, 0.1, 0.3] + [0.7, 0.95, 1.0, 1.0, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1, 0.08, 0.05, 0.03, 0.02],
    ),
    "campus": (
        _NIGHT + [0.05, 0.2, 0.6, 0.9, 1.0, 1.0, 0.9, 0.95, 1.0, 0.9, 0.7, 0.45, 0.3, 0.3, 0.25, 0.2, 0.15, 0.08, 0.03],
        _NIGHT + [0.03, 0.08, 0.15, 0.2, 0.2, 0.2, 0.15, 0.15, 0.15, 0.15, 0.1, 0.1, 0.1, 0.1, 0.08, 0.06, 0.05, 0.03, 0.02],
        _NIGHT + [0.03, 0.05, 0.08, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.08, 0.08, 0.08, 0.08, 0.06, 0.05, 0.04, 0.03, 0.02],
    ),
    "stadium": (
        _NIGHT + [0.3, 0.5, 0.4, 0.2, 0.15, 0.15, 0.15, 0.15, 0.15, 0.2, 0.4, 0.7, 0.8, 0.75, 0.6, 0.4, 0.2, 0.08, 0.03],
        _NIGHT + [0.5, 0.9, 1.0, 0.8, 0.5, 0.35, 0.3, 0.3, 0.35, 0.45, 0.6, 0.8, 0.9, 0.85, 0.7, 0.5, 0.3, 0.1, 0.05],
        _NIGHT + [0.6, 1.0, 1.0, 0.85, 0.55, 0.35, 0.3, 0.3, 0.35, 0.45, 0.6, 0.8, 0.85, 0.8, 0.65, 0.45, 0.25, 0.1, 0.04],
    ),
    "heritage": (
        _NIGHT + [0.05, 0.1, 0.2, 0.4, 0.6, 0.7, 0.7, 0.65, 0.6, 0.55, 0.45, 0.3, 0.25, 0.3, 0.3, 0.2, 0.1, 0.05, 0.02],
        _NIGHT + [0.05, 0.15, 0.3, 0.6, 0.85, 1.0, 1.0, 0.9, 0.85, 0.8, 0.65, 0.45, 0.4, 0.45, 0.4, 0.3, 0.15, 0.05, 0.02],
        _NIGHT + [0.05, 0.15, 0.35, 0.65, 0.9, 1.0, 1.0, 0.95, 0.85, 0.8, 0.65, 0.45, 0.4, 0.4, 0.35, 0.25, 0.12, 0.05, 0.02],
    ),
    "terminal": (
        [0.1, 0.08, 0.08, 0.15, 0.35] + [0.7, 0.9, 0.85, 0.7, 0.6, 0.6, 0.65, 0.65, 0.6, 0.65, 0.8, 0.95, 1.0, 0.85, 0.65, 0.5, 0.4, 0.3, 0.2],
        [0.1, 0.08, 0.08, 0.15, 0.35] + [0.6, 0.8, 0.85, 0.8, 0.75, 0.7, 0.7, 0.7, 0.7, 0.75, 0.8, 0.9, 0.95, 0.85, 0.7, 0.55, 0.45, 0.35, 0.2],
        [0.1, 0.08, 0.08, 0.15, 0.35] + [0.55, 0.7, 0.8, 0.8, 0.75, 0.7, 0.7, 0.75, 0.8, 0.85, 0.9, 1.0, 1.0, 0.9, 0.75, 0.6, 0.45, 0.35, 0.2],
    ),
    "office": (
        _NIGHT + [0.03, 0.1, 0.5, 0.9, 1.0, 1.0, 0.8, 0.9, 1.0, 0.9, 0.6, 0.2, 0.08, 0.05, 0.04, 0.03, 0.03, 0.02, 0.02],
        _NIGHT + [0.03, 0.05, 0.1, 0.15, 0.15, 0.15, 0.1, 0.1, 0.1, 0.08, 0.05, 0.04, 0.03, 0.03, 0.03, 0.02, 0.02, 0.02, 0.02],
        _NIGHT + [0.02, 0.03, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.04, 0.03, 0.03, 0.03, 0.03, 0.02, 0.02, 0.02, 0.02],
    ),
}
ACTIVITY["other"] = ACTIVITY["park"]
# Typical peak concurrent clients per AP, by kind (scaled 0.6..1.4 per AP).
PEAK = {"park": 45, "square": 50, "street": 60, "market": 35, "campus": 55,
        "stadium": 60, "heritage": 30, "terminal": 40, "office": 25, "other": 30}
IDLE_BPS = 400.0  # management traffic of an AP with no clients, bytes/s


def activity(kind: str, weekday: int, minute: float) -> float:
    """Activity 0..1 at a local weekday (0 = Monday) and minute of day."""
    table = ACTIVITY.get(kind, ACTIVITY["other"])
    hours = table[0] if weekday < 5 else table[1] if weekday == 5 else table[2]
    h = minute / 60.0
    i = int(h) % 24
    f = h - int(h)
    return hours[i] * (1 - f) + hours[(i + 1) % 24] * f


def _minutes(t: dtime) -> int:
    return t.hour * 60 + t.minute


def open_table(site: Site) -> list[bool]:
    """Per weekly bucket: is the site within its service hours (all day if unset)?"""
    if site.service_hours is None:
        return [True] * WEEK_BUCKETS
    out = [False] * WEEK_BUCKETS
    for wd in range(7):
        w = site.service_hours.window(wd)
        if w is None:
            continue
        start, end = _minutes(w[0]), _minutes(w[1])
        if end <= start:  # passes midnight
            end += 1440
        for m in range(start, end, 5):
            out[(wd * DAY_BUCKETS + m // 5) % WEEK_BUCKETS] = True
    return out


@dataclass
class ApSpec:
    """Everything fixed about one simulated AP (derived from config + seed)."""

    index: int
    id: str
    site: str
    kind: str
    key: int
    vendor: str
    hc: bool  # has ifXTable 64-bit counters
    peak: float
    share24: float  # share of clients and traffic on 2.4 GHz
    up_ratio: float  # upload bytes per download byte
    per_client_bps: float  # average download bytes/s per client
    cap_bps: float  # backhaul share, bytes/s
    ncpu: int
    mem_kb: int
    mac: bytes
    mqtt_id: Optional[str]
    clients_w: array = field(default_factory=lambda: array("d"), repr=False)  # expected clients per weekly bucket
    rate_w: array = field(default_factory=lambda: array("d"), repr=False)  # download B/s per weekly bucket
    prefix_w: array = field(default_factory=lambda: array("d"), repr=False)  # bytes before each bucket


def vendor_of(ap: AccessPoint, key: int) -> str:
    p = (ap.profile or "auto").lower()
    if p in VENDORS:
        return p
    return VENDORS[key % len(VENDORS)]


class FleetModel:
    """Specs and closed-form values of every AP of a config, for one seed."""

    def __init__(self, config: Config, seed: int = 1) -> None:
        self.config = config
        self.seed = seed
        self.offset_s = int(config.tz.utcoffset(datetime(2020, 1, 1)).total_seconds())
        self.sites = {s.id: s for s in config.sites}
        self._df: dict[tuple[str, int], float] = {}  # memo: day factors
        self._mid: dict[tuple[int, int, int], float] = {}  # memo: bytes of whole days between two
        self.site_keys = {s.id: stable_key(seed, "site", s.id) for s in config.sites}
        per_site: dict[str, int] = {}
        for ap in config.aps:
            per_site[ap.site] = per_site.get(ap.site, 0) + 1
        self.open_w = {s.id: open_table(s) for s in config.sites}
        self.act_w = {s.id: [activity(s.kind, int(wd), m) if o else 0.0
                             for (wd, m), o in zip((divmod(b * 5 + 2.5, 1440)
                                                    for b in range(WEEK_BUCKETS)),
                                                   self.open_w[s.id])]
                      for s in config.sites}
        self.aps: dict[str, ApSpec] = {}
        self.site_aps: dict[str, list[str]] = {s.id: [] for s in config.sites}
        for i, ap in enumerate(config.aps):
            site = self.sites[ap.site]
            spec = self._spec(i, ap, site, per_site[ap.site])
            self._tables(spec, self.act_w[site.id], self.open_w[site.id])
            self.aps[ap.id] = spec
            self.site_aps[ap.site].append(ap.id)

    def _spec(self, i: int, ap: AccessPoint, site: Site, n_site: int) -> ApSpec:
        k = stable_key(self.seed, "ap", ap.id)
        vendor = vendor_of(ap, k)
        hc = vendor in ("unifi", "mikrotik") or u01(k, 1) >= 0.3
        backhaul = (site.backhaul_mbps or 100.0) * 125000.0
        mac = bytes([0x02]) + k.to_bytes(8, "big")[:5]
        return ApSpec(
            index=i, id=ap.id, site=site.id, kind=site.kind, key=k, vendor=vendor, hc=hc,
            peak=PEAK.get(site.kind, 30) * (0.6 + 0.8 * u01(k, 2)),
            share24=0.3 + 0.3 * u01(k, 3),
            up_ratio=0.12 + 0.15 * u01(k, 4),
            per_client_bps=20000.0 + 40000.0 * u01(k, 5),
            cap_bps=0.9 * backhaul / n_site,
            ncpu=1 if vendor == "generic" else 4 if vendor == "unifi" else 2,
            mem_kb=(131072, 262144, 65536, 124372)[k % 4],
            mac=mac, mqtt_id=ap.mqtt_id,
        )

    @staticmethod
    def _tables(a: ApSpec, act: list[float], is_open: list[bool]) -> None:
        # Mersenne Twister seeded with an int is stable across Python versions.
        rng = random.Random(a.key)
        clients, rate, prefix = array("d"), array("d"), array("d", [0.0])
        acc = 0.0
        rnd = rng.random
        peak, pcb, cap = a.peak, a.per_client_bps, a.cap_bps
        for b in range(WEEK_BUCKETS):
            n1, n2 = rnd(), rnd()
            if is_open[b]:
                c = peak * act[b] * (0.75 + 0.5 * n1)
                r = min(IDLE_BPS + c * pcb * (0.6 + 0.8 * n2), cap)
            else:
                c, r = 0.0, IDLE_BPS
            clients.append(c)
            rate.append(r)
            acc += r * BUCKET
            prefix.append(acc)
        a.clients_w, a.rate_w, a.prefix_w = clients, rate, prefix

    # --- time helpers -------------------------------------------------
    def local(self, t: float) -> float:
        """Model time: seconds of local standard time since the epoch."""
        return t + self.offset_s

    @staticmethod
    def weekday(day: int) -> int:
        return (day + 3) % 7  # 1970-01-01 was a Thursday

    def day_factor(self, site: str, day: int) -> float:
        """Site-wide factor of a local day (weather, events): 0.8..1.2."""
        k = (site, day)
        v = self._df.get(k)
        if v is None:
            if len(self._df) > 200_000:
                self._df.clear()
            v = self._df[k] = 0.8 + 0.4 * u01(self.site_keys[site], day, 11)
        return v

    def is_open(self, ap_id: str, t: float) -> bool:
        x = self.local(t)
        day = int(x // DAY)
        b = self.weekday(day) * DAY_BUCKETS + int((x - day * DAY) // BUCKET)
        return self.open_w[self.aps[ap_id].site][b]

    # --- values ---------------------------------------------------------
    def clients(self, ap_id: str, t: float) -> tuple[int, int]:
        """Associated clients (2.4 GHz, 5 GHz) at time t (while the AP is up)."""
        a = self.aps[ap_id]
        x = self.local(t)
        day = int(x // DAY)
        b = self.weekday(day) * DAY_BUCKETS + int((x - day * DAY) // BUCKET)
        total = int(round(a.clients_w[b] * self.day_factor(a.site, day)))
        c24 = int(round(total * a.share24))
        return c24, total - c24

    def rate(self, ap_id: str, t: float) -> float:
        """Download bytes/s delivered to clients at time t."""
        a = self.aps[ap_id]
        x = self.local(t)
        day = int(x // DAY)
        b = self.weekday(day) * DAY_BUCKETS + int((x - day * DAY) // BUCKET)
        return a.rate_w[b] * self.day_factor(a.site, day)

    def _within_day(self, a: ApSpec, x: float) -> tuple[int, float]:
        day = int(x // DAY)
        s = x - day * DAY
        b = int(s // BUCKET)
        base = self.weekday(day) * DAY_BUCKETS
        v = a.prefix_w[base + b] - a.prefix_w[base] + a.rate_w[base + b] * (s - b * BUCKET)
        return day, v * self.day_factor(a.site, day)

    def _day_total(self, a: ApSpec, day: int) -> float:
        base = self.weekday(day) * DAY_BUCKETS
        return (a.prefix_w[base + DAY_BUCKETS] - a.prefix_w[base]) * self.day_factor(a.site, day)

    def download(self, ap_id: str, t0: float, t1: float) -> float:
        """Bytes downloaded by clients in [t0, t1]: the integral of ``rate``."""
        a = self.aps[ap_id]
        d0, v0 = self._within_day(a, self.local(t0))
        d1, v1 = self._within_day(a, self.local(t1))
        if d0 == d1:
            return v1 - v0
        total = self._day_total(a, d0) - v0 + v1
        if d1 - d0 > 1:
            k = (a.index, d0, d1)
            mid = self._mid.get(k)
            if mid is None:
                if len(self._mid) > 200_000:
                    self._mid.clear()
                mid = self._mid[k] = sum(self._day_total(a, d) for d in range(d0 + 1, d1))
            total += mid
        return total

    def load(self, ap_id: str, t: float) -> float:
        """0..1 busyness used for CPU, memory and temperature."""
        a = self.aps[ap_id]
        c24, c5 = self.clients(ap_id, t)
        return min(1.0, (c24 + c5) / max(a.peak, 1.0))

    def cpu_pct(self, ap_id: str, t: float) -> int:
        a = self.aps[ap_id]
        return int(3 + 55 * self.load(ap_id, t) + 10 * u01(a.key, int(t // 60), 21)) + 2  # 5..70: room for per-core spread

    def mem_pct(self, ap_id: str, t: float) -> float:
        a = self.aps[ap_id]
        return round(30 + 25 * self.load(ap_id, t) + 5 * u01(a.key, int(t // 300), 22), 1)

    def mem_used_kb(self, ap_id: str, t: float) -> int:
        return int(self.aps[ap_id].mem_kb * self.mem_pct(ap_id, t) / 100)

    def mem_pct_exact(self, ap_id: str, t: float) -> float:
        """Memory use as a collector computes it from the kB values the agent answers."""
        return self.mem_used_kb(ap_id, t) * 100.0 / self.aps[ap_id].mem_kb

    def temp_c(self, ap_id: str, t: float) -> float:
        a = self.aps[ap_id]
        return round(42 + 18 * self.load(ap_id, t) + 3 * u01(a.key, int(t // 300), 23), 1)
