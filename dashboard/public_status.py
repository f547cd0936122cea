"""The public status page's data: which public places have working free Wi-Fi now.

Everything here is what the city chooses to publish, built from a whitelist:
a place's name, kind, kecamatan, position, state, since when, service hours,
the last outage and whether the city already knows. Never an AP name, a host,
a MAC, a vendor or a client count: :class:`Place` has no field for them, and
a test checks every public answer.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple, Optional

from hotspot_monitor.citizens.desk import PublicNotice, ReportDesk
from hotspot_monitor.config.models import WEEKDAYS, Site
from hotspot_monitor.sample import utc
from hotspot_monitor.status.engine import site_state
from hotspot_monitor.status.statestore import Outage

from . import geo
from .fleet import FleetData

# the status engine's word -> the public word
PUBLIC_STATE = {"up": "works", "degraded": "partly", "down": "down", "closed": "closed", "unknown": "unknown"}
LAST_OUTAGE_DAYS = 30
MAP_W = 320.0  # SVG units; the height follows the city's shape (map_height)


class DayHours(NamedTuple):
    day: str  # mon ... sun
    hours: Optional[str]  # "HH:MM-HH:MM", None = closed that day


@dataclass(frozen=True, slots=True)
class Place:
    id: str
    name: str
    kind: str
    kecamatan: Optional[str]
    lat: float
    lon: float
    state: str  # works | partly | down | closed | unknown
    since: Optional[datetime]
    hours: list[DayHours]  # [] = always open
    last_outage_start: Optional[datetime]
    last_outage_end: Optional[datetime]  # None while it lasts
    known_since: Optional[datetime]  # an open outage: the city knows since
    report_status: Optional[str]  # received | forwarded | fixed: the latest ticket's status
    reports: int  # reports on that ticket

    @property
    def city_knows(self) -> bool:
        return self.known_since is not None or (self.report_status is not None and self.report_status != "fixed")

    def to_json(self) -> dict:
        d = asdict(self)
        for k in ("since", "last_outage_start", "last_outage_end", "known_since"):
            d[k] = utc(d[k]).isoformat() if d[k] is not None else None
        d["hours"] = {h.day: h.hours for h in self.hours} if self.hours else None
        d["city_knows"] = self.city_knows
        return d


def hours_of(site: Site) -> list[DayHours]:
    if site.service_hours is None:
        return []
    out = []
    for d in WEEKDAYS:
        w = getattr(site.service_hours, d)
        out.append(DayHours(d, None if w in (None, "closed") else w.replace(" ", "")))
    return out


def places(fleet: FleetData, desk: ReportDesk, fixed_shown_h: float) -> list[Place]:
    """Every public place, in the config's order."""
    cfg = fleet.cfg
    now = fleet.clock()
    rows_by_site: dict[str, list] = {}
    for r in fleet.ap_rows():
        rows_by_site.setdefault(r.site, []).append(r)
    open_by_site: dict[str, datetime] = {}
    for o in fleet.states.outages(open_only=True):
        if o.site not in open_by_site or o.start < open_by_site[o.site]:
            open_by_site[o.site] = o.start
    last: dict[str, Outage] = {}  # per site, the outage that started last
    for o in fleet.states.outages(start=now - timedelta(days=LAST_OUTAGE_DAYS)):
        prev = last.get(o.site)
        if prev is None or o.start >= prev.start:
            last[o.site] = o
    notices: dict[str, PublicNotice] = desk.public_notices(now, timedelta(hours=fixed_shown_h))
    out = []
    for s in cfg.sites:
        if not s.public:
            continue
        rows = rows_by_site.get(s.id, [])
        engine_state = site_state([r.state for r in rows])
        state = PUBLIC_STATE[engine_state if fleet.is_open(s, now) else "closed"]
        since = _since(engine_state, rows) if state != "closed" else None
        lo = last.get(s.id)
        n = notices.get(s.id)
        out.append(Place(s.id, s.name, s.kind, s.district, s.lat, s.lon, state, since, hours_of(s),
                         lo.start if lo else None, lo.end if lo else None, open_by_site.get(s.id),
                         n.status if n else None, n.reports if n else 0))
    return out


def _since(engine_state: str, rows: list) -> Optional[datetime]:
    """When the place got into its state: all down -> the last AP going down; some
    down -> the first; all up -> the last AP coming back."""
    downs = [r.since for r in rows if r.state == "down" and r.since is not None]
    ups = [r.since for r in rows if r.state == "up" and r.since is not None]
    if engine_state == "down":
        return max(downs) if downs else None
    if engine_state == "degraded":
        return min(downs) if downs else None
    if engine_state == "up":
        return max(ups) if ups else None
    return None


# -- a light map: the kecamatan as an inline SVG, places as dots -------------------------
@dataclass(frozen=True, slots=True)
class MapShape:
    name: str
    path: str
    label_x: float
    label_y: float


def dots(places: list[Place]) -> list[Dot]:
    return [Dot(p, *project(p.lon, p.lat)) for p in places]


@lru_cache(maxsize=1)
def _frame() -> tuple[float, float, float, float]:  # lon min, lon max, lat min, lat max
    xs = [p[0] for a in geo.kecamatan() for r in a.rings for p in r]
    ys = [p[1] for a in geo.kecamatan() for r in a.rings for p in r]
    return min(xs), max(xs), min(ys), max(ys)


class Point(NamedTuple):
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Dot:
    """A place on the map."""

    place: Place
    x: float
    y: float


def project(lon: float, lat: float) -> Point:
    """lon/lat -> SVG units (equirectangular, enough for a city 10 km across)."""
    x0, x1, y0, y1 = _frame()
    k = MAP_W / (x1 - x0)
    return Point(round((lon - x0) * k, 1), round((y1 - lat) * k, 1))


def map_height() -> float:
    x0, x1, y0, y1 = _frame()
    return round(MAP_W * (y1 - y0) / (x1 - x0) + 1, 1)


@lru_cache(maxsize=1)
def map_shapes() -> tuple[MapShape, ...]:
    """The 5 kecamatan as SVG paths, points closer than 1.5 units dropped (a few KB)."""
    out = []
    for a in geo.kecamatan():
        parts, xs, ys = [], [], []
        for ring in a.rings:
            pts: list[Point] = []
            for lon, lat in ring:
                p = project(lon, lat)
                if not pts or abs(p.x - pts[-1].x) + abs(p.y - pts[-1].y) >= 1.5:
                    pts.append(p)
            if len(pts) >= 3:
                parts.append("M" + "L".join(f"{p.x:g},{p.y:g}" for p in pts) + "Z")
                xs += [p.x for p in pts]
                ys += [p.y for p in pts]
        out.append(MapShape(a.name, "".join(parts), round(sum(xs) / len(xs), 1), round(sum(ys) / len(ys), 1)))
    return tuple(out)
