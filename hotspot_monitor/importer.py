"""History in, through the live data path: what ``hotspot-monitor import`` does.

The input is JSON-lines Samples exactly as ``poll --json`` prints them. Every
line is checked first (:func:`check_data`); one bad line and nothing is
imported. Then, as the live service would have done:

* every Sample (``ap_status`` included) goes to the metric store as given;
  stores treat a Sample with the same series and time as an overwrite, so a
  second import of the same data changes nothing;
* the ``ap_status`` observations, sorted by time, go through a
  :class:`StatusEngine` of their own (outages start at the first failed
  observation, a gap longer than ``collector.max_gap_s`` is unmonitored, an
  unreachable controller blinds its APs), kept in a scratch state DB so the
  live AP states are never touched; its ``ap_event`` Samples go to the metric
  store;
* what that engine recorded (one monitoring session over the imported range,
  the stretches each AP was observed, its outages) is merged into the state
  store in one transaction, idempotently (:meth:`StateStore.merge_history`).
  An outage still open when the data ends is stored ending at the AP's last
  imported observation, marked ``truncated``; a later, longer import extends it.
"""
from __future__ import annotations

import json
import math
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from .config.models import Config
from .sample import Sample, utc
from .status.engine import StatusEngine
from .status.statestore import CoverageSpan, HistoryMerge, Outage, StateStore
from .stores.base import MetricStore

# What each measurement must carry (DESIGN.md, "InfluxDB schema"). Field kinds:
# flag = 0/1, count = whole number >= 0, number = finite, positive = finite > 0.
TAGS = {
    "ap_status": ("site", "ap"),
    "ap_clients": ("site", "ap", "radio"),
    "ap_traffic": ("site", "ap", "iface"),
    "ap_system": ("site", "ap"),
    "controller_aps": ("site", "ap"),
}
FIELDS = {
    "ap_status": {"up": "flag", "response_ms": "number", "uptime_s": "count", "reason": "text"},
    "ap_clients": {"clients": "count"},
    "ap_traffic": {"rx_bytes": "count", "tx_bytes": "count", "rx_bps": "number",
                   "tx_bps": "number", "interval_s": "positive"},
    "ap_system": {"cpu_pct": "number", "mem_pct": "number", "temp_c": "number"},
    "controller_aps": {"aps_total": "count", "aps_up": "count", "aps_down": "count"},
}
REQUIRED = {"ap_status": ("up",), "ap_clients": ("clients",),
            "ap_traffic": ("rx_bytes", "tx_bytes")}
SOURCES = ("snmp", "mqtt")
FUTURE_SLACK = timedelta(days=1)  # a clock a little ahead is fine; a typo in the year is not
UNASSIGNED = "unassigned"  # a controller without a site (collectors/snmp/inventory.py)


class BadLine(ValueError):
    """What is wrong with one input line (the message names no value that could be secret)."""


@dataclass(frozen=True, slots=True)
class LineIssue:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Observation:
    """One ``ap_status`` line, kept small: a month of a fleet is millions of them."""

    time: datetime
    ap: str
    site: str
    source: str
    up: int
    reason: Optional[str]

    def sample(self) -> Sample:
        fields: dict[str, Any] = {"up": self.up}
        if self.reason is not None:
            fields["reason"] = self.reason
        return Sample("ap_status", {"site": self.site, "ap": self.ap, "source": self.source},
                      fields, self.time)


@dataclass
class CheckedData:
    """The result of the checking pass."""

    issues: list[LineIssue] = field(default_factory=list)
    samples: Counter = field(default_factory=Counter)  # per measurement
    observations: list[Observation] = field(default_factory=list)
    unknown_devices: Counter = field(default_factory=Counter)  # samples of ids not in the config


@dataclass(frozen=True, slots=True)
class ImportResult:
    samples: dict[str, int]
    events: int
    observations: int
    first: Optional[datetime]
    last: Optional[datetime]
    merged: HistoryMerge
    unknown_devices: dict[str, int]
    engine: dict[str, int]


Progress = Callable[[str, int, int], None]  # (phase, done, total)


class Inventory:
    """The config as the checker needs it: which site each AP / controller is at."""

    def __init__(self, cfg: Config):
        self.ap_site = {a.id: a.site for a in cfg.aps}
        self.controller_site = {c.id: c.site or UNASSIGNED for c in cfg.controllers}

    def site_of(self, device: str) -> Optional[str]:
        return self.ap_site.get(device) or self.controller_site.get(device)


def parse_line(text: str, inv: Inventory, now: datetime) -> Sample:
    """One line -> a Sample, or :class:`BadLine` saying what is wrong."""
    try:
        d = json.loads(text)
    except ValueError as e:
        raise BadLine(f"not JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(d, dict):
        raise BadLine("expected a JSON object: a Sample as `poll --json` prints it")
    extra = sorted(set(d) - {"measurement", "tags", "fields", "time"})
    if extra:
        raise BadLine(f"unknown key {extra[0]!r}")
    m = d.get("measurement")
    if m == "ap_event":
        raise BadLine("ap_event is derived from ap_status by the status engine: leave it out")
    if m not in TAGS:
        raise BadLine("missing measurement" if m is None else
                      f"unknown measurement {m!r} (one of {', '.join(TAGS)})")
    tags = _tags(d.get("tags"), m)
    fields = _fields(d.get("fields"), m)
    t = _time(d.get("time"), now)
    site = inv.site_of(tags["ap"])
    if site is not None and tags["site"] != site:
        raise BadLine(f"tags.site {tags['site']!r} is not the site of {tags['ap']!r} in the "
                      f"config ({site!r})")
    return Sample(m, tags, fields, t)


def _tags(tags: Any, m: str) -> dict[str, str]:
    if not isinstance(tags, dict):
        raise BadLine("tags must be an object")
    for k, v in tags.items():
        if not isinstance(v, str) or not v:
            raise BadLine(f"tags.{k} must be a non-empty string")
    for k in TAGS[m]:
        if k not in tags:
            raise BadLine(f"{m} needs tags.{k}")
    if m == "ap_status" and tags.get("source", "snmp") not in SOURCES:
        raise BadLine(f"tags.source must be one of {', '.join(SOURCES)}")
    return tags


def _fields(fields: Any, m: str) -> dict[str, Any]:
    if not isinstance(fields, dict) or not fields:
        raise BadLine("fields must be a non-empty object")
    for k in REQUIRED.get(m, ()):
        if k not in fields:
            raise BadLine(f"{m} needs fields.{k}")
    out: dict[str, Any] = {}
    for k, v in fields.items():
        out[k] = _value(k, v, FIELDS[m].get(k))
    return out


def _value(name: str, v: Any, kind: Optional[str]) -> Any:
    whole = isinstance(v, int) and not isinstance(v, bool)
    real = (whole or isinstance(v, float)) and math.isfinite(v)
    if kind == "flag" and not (whole and v in (0, 1)):
        raise BadLine(f"fields.{name} must be 0 or 1")
    if kind == "count" and not (whole and v >= 0):
        raise BadLine(f"fields.{name} must be a whole number >= 0")
    if kind in ("number", "positive"):
        if not real or (kind == "positive" and v <= 0):
            raise BadLine(f"fields.{name} must be a finite number" + (" > 0" if kind == "positive"
                                                                      else ""))
        return float(v)  # one type per field, as the collectors write it
    if kind == "text" and not isinstance(v, str):
        raise BadLine(f"fields.{name} must be a string")
    if kind is None and not (isinstance(v, (str, bool)) or real):
        raise BadLine(f"fields.{name} must be a string, a boolean or a finite number")
    return v


def _time(v: Any, now: datetime) -> datetime:
    if not isinstance(v, str):
        raise BadLine("time must be an ISO 8601 string")
    try:
        t = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise BadLine("time is not an ISO 8601 time") from None
    if t.tzinfo is None:
        raise BadLine("time has no UTC offset (write ...Z or ...+07:00)")
    if t > now + FUTURE_SLACK:
        raise BadLine("time is in the future")
    return utc(t)


def _lines(path: Path) -> Iterator[tuple[int, int, Optional[str]]]:
    """(line number, bytes read so far, text or None when not UTF-8)."""
    done = 0
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            done += len(raw)
            try:
                yield n, done, raw.decode("utf-8")
            except UnicodeDecodeError:
                yield n, done, None


def check_data(path: Path, name: str, cfg: Config,
               progress: Optional[Progress] = None) -> CheckedData:
    """Read every line once: the issues, counts, and the ``ap_status`` observations."""
    inv = Inventory(cfg)
    now = datetime.now(timezone.utc)
    size = max(path.stat().st_size, 1)
    out = CheckedData()
    kinds: dict[tuple[str, str], str] = {}  # (measurement, field) -> type of its first value
    for n, done, text in _lines(path):
        if progress is not None and n % 2000 == 0:
            progress("checking", done, size)
        if text is None:
            out.issues.append(LineIssue(name, n, "not UTF-8 text"))
            continue
        if not text.strip():
            continue
        try:
            s = parse_line(text, inv, now)
            for k, v in s.fields.items():
                first = kinds.setdefault((s.measurement, k), type(v).__name__)
                if first != type(v).__name__:
                    raise BadLine(f"fields.{k} is a {type(v).__name__} here but a {first} "
                                  f"earlier in the file (a store keeps one type per field)")
        except BadLine as e:
            out.issues.append(LineIssue(name, n, str(e)))
            continue
        out.samples[s.measurement] += 1
        ap = s.tags["ap"]
        if inv.site_of(ap) is None:
            out.unknown_devices[ap] += 1
        if s.measurement == "ap_status":
            reason = s.fields.get("reason")
            out.observations.append(Observation(  # interned: millions share a few strings
                s.time, sys.intern(ap), sys.intern(s.tags["site"]),
                sys.intern(s.tags.get("source", "snmp")), s.fields["up"],
                None if reason is None else sys.intern(reason)))
    if progress is not None:
        progress("checking", size, size)
    return out


def write_samples(path: Path, cfg: Config, store: MetricStore,
                  progress: Optional[Progress] = None, batch: int = 5000) -> None:
    """Second pass (the data is known good): every Sample to the metric store."""
    inv = Inventory(cfg)
    now = datetime.now(timezone.utc)
    size = max(path.stat().st_size, 1)
    pending: list[Sample] = []
    for n, done, text in _lines(path):
        if text is None or not text.strip():
            continue
        pending.append(parse_line(text, inv, now))
        if len(pending) >= batch:
            store.write(pending)
            store.flush()
            pending = []
            if progress is not None:
                progress("writing", done, size)
    store.write(pending)
    store.flush()
    if progress is not None:
        progress("writing", size, size)


@dataclass(frozen=True, slots=True)
class Judged:
    """What the import's own status engine made of the observations."""

    events: list[Sample]
    sessions: list[tuple[datetime, datetime]]
    coverage: list[CoverageSpan]
    outages: list[Outage]
    stats: dict[str, int]


def judge(cfg: Config, observations: list[Observation],
          progress: Optional[Progress] = None) -> Judged:
    """Run the observations, oldest first, through a status engine of their own."""
    observations = sorted(observations, key=lambda o: o.time)  # stable: file order on ties
    with tempfile.TemporaryDirectory(prefix="hm-import-") as d:
        scratch = StateStore("sqlite:///judged.sqlite", base_dir=Path(d))
        try:
            engine = StatusEngine(cfg, scratch)
            events: list[Sample] = []
            for i, o in enumerate(observations):
                events += engine.observe(o.sample())
                if progress is not None and i % 20000 == 0:
                    progress("judging", i, len(observations))
            if observations:
                engine.stop(observations[-1].time)
            if progress is not None:
                progress("judging", len(observations), len(observations))
            sessions = [(s.started, s.covered_until) for s in scratch.sessions()]
            coverage = scratch.coverage()
            outages = []
            for o in scratch.outages():
                if o.end is None:  # still down when the data ended: end at what we saw last
                    last = engine.ap(o.ap).last_seen or o.start
                    o = Outage(o.id, o.ap, o.site, o.start, last,
                               (last - o.start).total_seconds(), o.reason, o.source, True)
                outages.append(o)
        finally:
            scratch.close()
    return Judged(events, sessions, coverage, outages, dict(engine.stats))


def import_data(cfg: Config, path: Path, checked: CheckedData, store: MetricStore,
                states: StateStore, progress: Optional[Progress] = None) -> ImportResult:
    """Import data that :func:`check_data` found without issues."""
    assert not checked.issues, "import only checked data"
    write_samples(path, cfg, store, progress)
    judged = judge(cfg, checked.observations, progress)
    merged = states.merge_history(sessions=judged.sessions, coverage=judged.coverage,
                                  outages=judged.outages)
    store.write(judged.events)
    store.flush()
    times = [o.time for o in checked.observations]
    return ImportResult(dict(checked.samples), len(judged.events), len(checked.observations),
                        min(times, default=None), max(times, default=None), merged,
                        dict(checked.unknown_devices), judged.stats)
