"""The city's boundaries (kecamatan and kelurahan GeoJSON shipped in static/geo/)
and which area each site lies in.

Boundary data: cahyadsn/wilayah_boundaries (MIT), Kota Surakarta (33.72);
see dashboard/static/geo/NOTICE.md.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

GEO_DIR = Path(__file__).parent / "static" / "geo"
KECAMATAN_FILE = "surakarta_kecamatan_dissolved.geojson"
KELURAHAN_FILE = "surakarta_kelurahan.geojson"


@dataclass(frozen=True, slots=True)
class Area:
    id: str
    name: str
    rings: tuple[tuple[tuple[float, float], ...], ...]  # outer rings, (lon, lat)

    def contains(self, lon: float, lat: float) -> bool:
        return any(_in_ring(lon, lat, r) for r in self.rings)


def _in_ring(x: float, y: float, ring: tuple[tuple[float, float], ...]) -> bool:
    """Ray casting: is (x, y) inside the polygon ring?"""
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def _areas(path: Path) -> tuple[Area, ...]:
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for f in data["features"]:
        g = f["geometry"]
        polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        rings = tuple(tuple((float(p[0]), float(p[1])) for p in poly[0]) for poly in polys)
        out.append(Area(str(f.get("id") or f["properties"].get("kode")), f["properties"]["nama"], rings))
    return tuple(out)


@lru_cache(maxsize=None)
def kecamatan() -> tuple[Area, ...]:
    return _areas(GEO_DIR / KECAMATAN_FILE)


@lru_cache(maxsize=None)
def kelurahan() -> tuple[Area, ...]:
    return _areas(GEO_DIR / KELURAHAN_FILE)


def locate(areas: tuple[Area, ...], lat: float, lon: float) -> Optional[Area]:
    return next((a for a in areas if a.contains(lon, lat)), None)
