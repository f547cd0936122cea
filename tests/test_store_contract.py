"""One contract, two stores: SQLite and a real influxd must give the same answers.

Every expected number below is computed by hand (or, for generated data, by the
plain Python oracle ``expect`` over the generated input) - never read back from a
store. Both stores keep rollups; the second half of this file checks that reads
through them equal the oracle and a raw-only twin of the same store, with
partial edges, late points, overwrites and local-day buckets.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Iterator, Optional
from zoneinfo import ZoneInfo

import pytest

from hotspot_monitor.config.models import InfluxSettings, SqliteSettings, StoreSettings
from hotspot_monitor.sample import Sample
from hotspot_monitor.stores import MetricStore, open_store
from hotspot_monitor.stores.influxdb import InfluxStore
from hotspot_monitor.stores.lineprotocol import Serializer, line
from hotspot_monitor.stores.sqlite import SqliteStore

UTC = timezone.utc
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SITES = ["Taman Balekambang, Utara", "Pasar Gedhé", 'Alun-alun "Kidul"',
         "a=b\\c d,e", "Ngarsopuro 'Night' Market", "Stasiun Balapan ✓"]


@pytest.fixture(params=["sqlite", "influxdb"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[MetricStore]:
    if request.param == "sqlite":
        s = open_store(StoreSettings(kind="sqlite", sqlite=SqliteSettings(path="m/x.sqlite")),
                       base_dir=tmp_path)
        assert (tmp_path / "m" / "x.sqlite").exists()
    else:
        server = request.getfixturevalue("influxd")
        db = request.getfixturevalue("influx_db")
        s = open_store(StoreSettings(kind="influxdb", influxdb=InfluxSettings(
            url=server.url, database=db, batch_size=500)))
        assert isinstance(s, InfluxStore)
    yield s
    s.close()


def put(store: MetricStore, samples: list[Sample]) -> None:
    store.write(samples)
    store.flush()


def flat(series) -> list[tuple[dict, list[tuple[datetime, object]]]]:
    return [(dict(s.tags), [(b.start, b.value) for b in s.buckets]) for s in series]


def same_typed(a: dict, b: dict) -> None:
    assert a == b
    assert {k: type(v) for k, v in a.items()} == {k: type(v) for k, v in b.items()}


def test_field_types_and_awkward_tags_round_trip(store: MetricStore) -> None:
    fields = {"big": 2**62, "neg": -5, "zero": 0, "f": 1.0, "tenth": 0.1, "huge": 1e300,
              "yes": True, "no": False,
              "s": 'he said "hi"\nnew line, comma=equals \\ back\\slash ünï ✓',
              "empty_s": ""}
    tags = {"site": "Taman Balekambang, Utara", "ap": 'ap=1 "q" \\x', "ünï": "Pasar Gedhé"}
    t = T0 + timedelta(microseconds=123457)
    put(store, [Sample("m x,y", tags, fields, t)])
    [got] = store.latest("m x,y")
    assert got.time == t
    assert dict(got.tags) == tags
    same_typed(dict(got.fields), fields)


@pytest.mark.parametrize("site", SITES)
def test_tag_filter_with_awkward_values(store: MetricStore, site: str) -> None:
    put(store, [Sample("ap_clients", {"site": s, "ap": f"ap{i}", "radio": "all"},
                       {"clients": i}, T0) for i, s in enumerate(SITES)])
    got = store.latest("ap_clients", tags={"site": site})
    assert [(g.tags["site"], g.fields["clients"]) for g in got] == [(site, SITES.index(site))]
    sums = store.totals("ap_clients", "clients", start=T0, end=T0 + timedelta(seconds=1),
                        group_by=["site"], tags={"site": site})
    assert sums == {(site,): SITES.index(site)}


def test_unstorable_samples_are_dropped_identically(store: MetricStore) -> None:
    put(store, [
        Sample("m", {"site": "ends with \\"}, {"v": 1}, T0),  # line protocol can't
        Sample("m", {"site": "new\nline"}, {"v": 2}, T0),
        Sample("m", {"site": "ok"}, {"nan": float("nan")}, T0),  # no storable field
        Sample("m", {"site": "ok", "empty": ""}, {"v": 3, "inf": float("inf")}, T0),
    ])
    [got] = store.latest("m")
    assert dict(got.tags) == {"site": "ok"}  # InfluxDB drops empty tag values
    assert dict(got.fields) == {"v": 3}


def test_same_series_and_time_merges_fields(store: MetricStore) -> None:
    tags = {"site": "s", "ap": "a", "source": "snmp"}
    put(store, [Sample("ap_status", tags, {"up": 1, "response_ms": 2.5}, T0)])
    put(store, [Sample("ap_status", tags, {"up": 0, "reason": "snmp_timeout"}, T0)])
    [got] = store.latest("ap_status")
    same_typed(dict(got.fields), {"up": 0, "response_ms": 2.5, "reason": "snmp_timeout"})


def test_latest_per_series_and_since(store: MetricStore) -> None:
    s = []
    for k in range(3):  # 3 minutes of data, the newest last
        t = T0 + timedelta(minutes=k)
        s.append(Sample("ap_clients", {"site": "A", "ap": "ap1", "radio": "2.4GHz"},
                        {"clients": 10 + k}, t))
        s.append(Sample("ap_clients", {"site": "A", "ap": "ap1", "radio": "5GHz"},
                        {"clients": 20 + k}, t))
    s.append(Sample("ap_clients", {"site": "B", "ap": "ap2", "radio": "5GHz"},
                    {"clients": 7}, T0 - timedelta(hours=1)))
    put(store, list(reversed(s)))  # written out of order on purpose
    got = sorted(store.latest("ap_clients"), key=lambda x: (x.tags["ap"], x.tags["radio"]))
    assert [(g.tags["ap"], g.tags["radio"], g.fields["clients"], g.time) for g in got] == [
        ("ap1", "2.4GHz", 12, T0 + timedelta(minutes=2)),
        ("ap1", "5GHz", 22, T0 + timedelta(minutes=2)),
        ("ap2", "5GHz", 7, T0 - timedelta(hours=1)),
    ]
    recent = store.latest("ap_clients", since=T0 - timedelta(minutes=30))
    assert sorted(g.tags["radio"] for g in recent) == ["2.4GHz", "5GHz"]
    assert all(g.tags["ap"] == "ap1" for g in recent)
    assert store.latest("ap_clients", tags={"ap": "ap1", "radio": "5GHz"})[0].fields == \
        {"clients": 22}
    assert store.latest("nothing_here") == []


def test_half_open_ranges_and_bucket_edges(store: MetricStore) -> None:
    us = timedelta(microseconds=1)
    five = timedelta(minutes=5)
    pts = [(T0, 1), (T0 + five - us, 2), (T0 + five, 4), (T0 + 2 * five - us, 8),
           (T0 + 2 * five, 16), (T0 - us, 32)]
    put(store, [Sample("m", {"ap": "a"}, {"v": v}, t) for t, v in pts])
    got = store.aggregate("m", "v", start=T0, end=T0 + 2 * five, every=five, agg="sum")
    assert flat(got) == [({}, [(T0, 3), (T0 + five, 12)])]
    # a start inside a bucket: the bucket keeps its epoch-aligned label
    got = store.aggregate("m", "v", start=T0 + timedelta(minutes=1), end=T0 + 3 * five,
                          every=five, agg="sum")
    assert flat(got) == [({}, [(T0, 2), (T0 + five, 12), (T0 + 2 * five, 16)])]
    assert store.totals("m", "v", start=T0, end=T0 + five, group_by=[]) == {(): 3}


def test_aggregations_by_hand(store: MetricStore) -> None:
    ten = timedelta(minutes=10)
    data = {  # ap -> [(minute offset, clients, cpu_pct)]
        "ap1": [(0, 4, 10.0), (3, 6, 20.0), (12, 5, 30.5)],
        "ap2": [(1, 1, 40.0), (14, 9, 50.0)],
    }
    samples = []
    for ap, rows in data.items():
        for m, c, cpu in rows:
            t = T0 + timedelta(minutes=m)
            samples.append(Sample("ap_clients", {"site": "S", "ap": ap, "radio": "all"},
                                  {"clients": c}, t))
            samples.append(Sample("ap_system", {"site": "S", "ap": ap}, {"cpu_pct": cpu}, t))
    put(store, samples)
    kw = dict(start=T0, end=T0 + 2 * ten, every=ten)

    def one(m: str, f: str, agg: str):
        [s] = store.aggregate(m, f, agg=agg, **kw)
        return [(b.start - T0, b.value, type(b.value)) for b in s.buckets]

    z, t10 = timedelta(0), ten
    assert one("ap_clients", "clients", "sum") == [(z, 11, int), (t10, 14, int)]
    assert one("ap_clients", "clients", "mean") == [(z, 11 / 3, float), (t10, 7.0, float)]
    assert one("ap_clients", "clients", "max") == [(z, 6, int), (t10, 9, int)]
    assert one("ap_clients", "clients", "min") == [(z, 1, int), (t10, 5, int)]
    assert one("ap_clients", "clients", "last") == [(z, 6, int), (t10, 9, int)]
    assert one("ap_clients", "clients", "count") == [(z, 3, int), (t10, 2, int)]
    assert one("ap_system", "cpu_pct", "sum") == [(z, 70.0, float), (t10, 80.5, float)]
    assert one("ap_system", "cpu_pct", "mean") == [(z, 70.0 / 3, float), (t10, 40.25, float)]
    assert one("ap_system", "cpu_pct", "max") == [(z, 40.0, float), (t10, 50.0, float)]
    assert one("ap_system", "cpu_pct", "last") == [(z, 20.0, float), (t10, 50.0, float)]
    by_ap = store.aggregate("ap_clients", "clients", agg="sum", group_by=["ap"], **kw)
    assert flat(by_ap) == [({"ap": "ap1"}, [(T0, 10), (T0 + ten, 5)]),
                           ({"ap": "ap2"}, [(T0, 1), (T0 + ten, 9)])]
    only2 = store.aggregate("ap_clients", "clients", agg="max", tags={"ap": "ap2"}, **kw)
    assert flat(only2) == [({}, [(T0, 1), (T0 + ten, 9)])]
    # empty buckets are omitted
    gap = store.aggregate("ap_clients", "clients", agg="count", start=T0,
                          end=T0 + timedelta(minutes=15), every=timedelta(minutes=5))
    assert flat(gap) == [({}, [(T0, 3), (T0 + timedelta(minutes=10), 2)])]
    assert store.totals("ap_clients", "clients", start=T0, end=T0 + 2 * ten,
                        group_by=["ap"], agg="max") == {("ap1",): 6, ("ap2",): 9}


def test_day_buckets_in_local_time(store: MetricStore) -> None:
    # Asia/Jakarta is UTC+7: local midnight is 17:00 UTC the day before.
    pts = [(datetime(2026, 3, 1, 16, 59, 59, tzinfo=UTC), 1),   # Mar 1, 23:59:59 WIB
           (datetime(2026, 3, 1, 17, 0, tzinfo=UTC), 2),        # Mar 2, 00:00 WIB
           (datetime(2026, 3, 2, 10, 0, tzinfo=UTC), 4),        # Mar 2, 17:00 WIB
           (datetime(2026, 3, 2, 17, 0, tzinfo=UTC), 8)]        # Mar 3, 00:00 WIB
    put(store, [Sample("m", {"site": "S"}, {"v": v}, t) for t, v in pts])
    start, end = datetime(2026, 2, 28, 17, tzinfo=UTC), datetime(2026, 3, 3, 17, tzinfo=UTC)
    got = store.aggregate("m", "v", start=start, end=end, every=timedelta(days=1),
                          agg="sum", tz="Asia/Jakarta", group_by=["site"])
    assert flat(got) == [({"site": "S"}, [(datetime(2026, 2, 28, 17, tzinfo=UTC), 1),
                                          (datetime(2026, 3, 1, 17, tzinfo=UTC), 6),
                                          (datetime(2026, 3, 2, 17, tzinfo=UTC), 8)])]
    utc_days = store.aggregate("m", "v", start=datetime(2026, 3, 1, tzinfo=UTC), end=end,
                               every=timedelta(days=1), agg="sum")
    assert flat(utc_days) == [({}, [(datetime(2026, 3, 1, tzinfo=UTC), 3),
                                    (datetime(2026, 3, 2, tzinfo=UTC), 12)])]


def test_day_buckets_across_a_dst_change_and_multi_day(store: MetricStore) -> None:
    """Europe/Berlin springs forward on 2026-03-29: that local day lasts 23 hours."""
    pts = [datetime(2026, 3, 28, 22, 59, tzinfo=UTC),  # Mar 28, 23:59 CET
           datetime(2026, 3, 28, 23, 0, tzinfo=UTC),   # Mar 29, 00:00 CET
           datetime(2026, 3, 29, 21, 59, tzinfo=UTC),  # Mar 29, 23:59 CEST
           datetime(2026, 3, 29, 22, 0, tzinfo=UTC)]   # Mar 30, 00:00 CEST
    put(store, [Sample("m", {}, {"v": 1}, t) for t in pts])
    kw = dict(start=datetime(2026, 3, 27, 23, tzinfo=UTC),
              end=datetime(2026, 3, 30, 22, tzinfo=UTC), agg="count")
    got = store.aggregate("m", "v", every=timedelta(days=1), tz="Europe/Berlin", **kw)
    assert flat(got) == [({}, [(datetime(2026, 3, 27, 23, tzinfo=UTC), 1),
                               (datetime(2026, 3, 28, 23, tzinfo=UTC), 2),
                               (datetime(2026, 3, 29, 22, tzinfo=UTC), 1)])]
    # 2-day buckets start on local days with an even ordinal since 1970-01-01:
    # 2026-03-28 is day 20540, so buckets start at Mar 28 and Mar 30 00:00 WIB.
    got = store.aggregate("m", "v", every=timedelta(days=2), tz="Asia/Jakarta", **kw)
    assert flat(got) == [({}, [(datetime(2026, 3, 27, 17, tzinfo=UTC), 2),
                               (datetime(2026, 3, 29, 17, tzinfo=UTC), 2)])]
    # tz is ignored for buckets that are not whole days (epoch-aligned hours)
    got = store.aggregate("m", "v", every=timedelta(hours=1), tz="Asia/Kolkata", **kw)
    assert [b.start.minute for b in got[0].buckets] == [0, 0, 0, 0]


def _month_of_traffic() -> list[Sample]:
    out = []
    t = datetime(2026, 10, 31, 22, 0, tzinfo=UTC)
    k = 0
    while t < datetime(2026, 12, 1, 2, 0, tzinfo=UTC):
        for i, ap in enumerate(["ap1", "ap2", "ap3"]):
            site = "Pasar Gedhé" if ap != "ap3" else "Taman Balekambang, Utara"
            out.append(Sample("ap_traffic", {"site": site, "ap": ap, "iface": "wlan0"},
                              {"rx_bytes": 1000 * (i + 1) + k % 97, "rx_bps": 0.5 * (k % 7)},
                              t))
        k += 1
        t += timedelta(minutes=10)
    return out


def test_monthly_totals_grouped_by_tag(store: MetricStore) -> None:
    data = _month_of_traffic()
    put(store, data)
    for start, end in [(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
                       # unaligned edges: partial hours from raw rows, the rest rolled up
                       (datetime(2026, 11, 1, 0, 30, tzinfo=UTC),
                        datetime(2026, 11, 30, 12, 15, tzinfo=UTC)),
                       # up to the newest data: its hour is still being written
                       (datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 12, 1, 2, tzinfo=UTC))]:
        want: dict[tuple[str, ...], int] = {}
        want_f: dict[tuple[str, ...], float] = {}
        for s in data:
            if start <= s.time < end:
                key = (s.tags["ap"],)
                want[key] = want.get(key, 0) + s.fields["rx_bytes"]
                want_f[key] = want_f.get(key, 0.0) + s.fields["rx_bps"]
        got = store.totals("ap_traffic", "rx_bytes", start=start, end=end, group_by=["ap"])
        assert got == want and all(type(v) is int for v in got.values())
        got_f = store.totals("ap_traffic", "rx_bps", start=start, end=end, group_by=["ap"])
        assert got_f == pytest.approx(want_f)  # multiples of 0.5: exact anyway
        by_site = store.totals("ap_traffic", "rx_bytes", start=start, end=end,
                               group_by=["site"], tags={"site": "Pasar Gedhé"})
        assert by_site == {("Pasar Gedhé",): want[("ap1",)] + want[("ap2",)]}
        n = store.totals("ap_traffic", "rx_bytes", start=start, end=end, group_by=[],
                         agg="count")
        assert n == {(): sum(1 for s in data if start <= s.time < end)}
    # late data in an interior hour that was already summed must be counted
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    before = store.totals("ap_traffic", "rx_bytes", start=start, end=end, group_by=["ap"])
    put(store, [Sample("ap_traffic", {"site": "Pasar Gedhé", "ap": "ap1", "iface": "wlan0"},
                       {"rx_bytes": 5, "rx_bps": 0.0},
                       datetime(2026, 11, 15, 12, 5, tzinfo=UTC))])
    after = store.totals("ap_traffic", "rx_bytes", start=start, end=end, group_by=["ap"])
    assert after[("ap1",)] == before[("ap1",)] + 5
    # daily means of one site in local time agree with a Python oracle
    day0 = datetime(2026, 11, 9, 17, tzinfo=UTC)  # Nov 10, 00:00 WIB
    got = store.aggregate("ap_traffic", "rx_bytes", start=day0, end=day0 + timedelta(days=2),
                          every=timedelta(days=1), agg="mean", tz="Asia/Jakarta",
                          tags={"site": "Pasar Gedhé"})
    want_days = []
    for d in range(2):
        lo, hi = day0 + timedelta(days=d), day0 + timedelta(days=d + 1)
        vals = [s.fields["rx_bytes"] for s in data
                if lo <= s.time < hi and s.tags["site"] == "Pasar Gedhé"]
        want_days.append((lo, pytest.approx(sum(vals) / len(vals))))
    assert flat(got) == [({}, want_days)]


def test_line_protocol_is_points(store: MetricStore) -> None:
    """The cached fast path writes exactly what influxdb_client's Point writes."""
    ser = Serializer()
    for i, site in enumerate(SITES):
        s = Sample("ap traffic,x", {"site": site, "ap": f"a {i}"},
                   {"rx_bytes": 2**40 + i, "rx_bps": i / 3, "ok": i % 2 == 0, "s": site},
                   T0 + timedelta(microseconds=i))
        assert ser(s) == ser(s) == line(s)



# ---------------------------------------------------------------- rollups
#
# Expected values come from ``expect``: a plain Python reading of the data as
# written (half-open ranges, epoch-aligned buckets, local-midnight days with
# InfluxDB's N-day alignment), sharing no code with the stores.

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
D0 = datetime(2026, 10, 5, tzinfo=UTC)  # well in the past: frontiers can pass it
TRAFFIC_SERIES = [("Pasar Gedhé", "ap1", "wlan0"), ("Pasar Gedhé", "ap1", "wlan1"),
                  ("Pasar Gedhé", "ap2", "wlan0"), ("Taman Balekambang, Utara", "ap3", "wlan0")]


def traffic(start: datetime, minutes: int) -> list[Sample]:
    """One point per series and minute, some minutes missing; rx_bps in quarters
    (float sums stay exact, so the oracle may compare with ==)."""
    out = []
    for k in range(minutes):
        t = start + timedelta(minutes=k)
        for i, (site, ap, iface) in enumerate(TRAFFIC_SERIES):
            if (k + 3 * i) % 97 == 0:
                continue
            out.append(Sample("ap_traffic", {"site": site, "ap": ap, "iface": iface},
                              {"rx_bytes": 1000 * (i + 1) + (k * 7 + i) % 501,
                               "rx_bps": ((k + i) % 13) / 4}, t))
    return out


def bucket_of(t: datetime, every: timedelta, tz: Optional[str]) -> datetime:
    if tz and every % timedelta(days=1) == timedelta(0):
        zone, n = ZoneInfo(tz), every // timedelta(days=1)
        d = t.astimezone(zone).date()
        d -= timedelta(days=(d - date(1970, 1, 1)).days % n)
        return datetime(d.year, d.month, d.day, tzinfo=zone).astimezone(UTC)
    return EPOCH + (t - EPOCH) // every * every


def reduce(points: list[tuple[datetime, object]], agg: str) -> object:
    vals = [v for _, v in points]
    if agg == "mean":
        return float(sum(vals)) / len(vals)
    if agg == "last":
        return max(points, key=lambda p: p[0])[1]
    return {"sum": sum, "min": min, "max": max, "count": len}[agg](vals)


def expect(data: list[Sample], field: str, agg: str, start: datetime, end: datetime,
           every: Optional[timedelta] = None, tz: Optional[str] = None,
           group_by: tuple[str, ...] = (), tags: Optional[dict] = None):
    """What any store must answer: aggregate() rows (with ``every``) or totals()."""
    groups: dict = defaultdict(lambda: defaultdict(list))
    for x in data:
        if start <= x.time < end and field in x.fields and \
                all(x.tags.get(k) == v for k, v in (tags or {}).items()):
            b = bucket_of(x.time, every, tz) if every else None
            groups[tuple(x.tags.get(g, "") for g in group_by)][b].append(
                (x.time, x.fields[field]))
    if every is None:
        return {k: reduce(v[None], agg) for k, v in groups.items()}
    return [(dict(zip(group_by, k)), [(b, reduce(pts, agg)) for b, pts in sorted(v.items())])
            for k, v in sorted(groups.items())]


def read(store: MetricStore, field: str, agg: str, start: datetime, end: datetime,
         every: Optional[timedelta] = None, tz: Optional[str] = None,
         group_by: tuple[str, ...] = (), tags: Optional[dict] = None):
    if every is None:
        return store.totals("ap_traffic", field, start=start, end=end, agg=agg,
                            group_by=list(group_by), tags=tags)
    return flat(store.aggregate("ap_traffic", field, start=start, end=end, every=every,
                                agg=agg, tz=tz, group_by=list(group_by), tags=tags))


def twin(store: MetricStore, rollups: bool) -> MetricStore:
    """Another instance on the same data (a second process, or a raw-only reader)."""
    if isinstance(store, InfluxStore):
        return InfluxStore(store.s, rollups=rollups)
    assert isinstance(store, SqliteStore)
    return SqliteStore(store.path, rollups=rollups)


def delete_raw(store: MetricStore, start: datetime, end: datetime) -> None:
    """Remove raw ap_traffic points behind the store's back: what is still
    answered must come from rollups."""
    us = timedelta(microseconds=1)
    lo, hi = (start - EPOCH) // us, (end - EPOCH) // us
    if isinstance(store, InfluxStore):
        store._query(f'DELETE FROM "ap_traffic" WHERE time >= {lo * 1000} AND time < {hi * 1000}')
    else:
        store._con().execute("DELETE FROM points WHERE time_us >= ? AND time_us < ? AND "
                             "series_id IN (SELECT id FROM series WHERE measurement = ?)",
                             (lo, hi, "ap_traffic"))


def put_in_rounds(store: MetricStore, data: list[Sample], minutes_per_flush: int) -> None:
    """Write as a live service does: in time order, a flush every few minutes."""
    chunk: list[Sample] = []
    edge = data[0].time + timedelta(minutes=minutes_per_flush)
    for x in data:
        if x.time >= edge:
            put(store, chunk)
            chunk, edge = [], edge + timedelta(minutes=minutes_per_flush)
        chunk.append(x)
    put(store, chunk)


H, M5 = timedelta(hours=1), timedelta(minutes=5)
ROLLUP_QUERIES = [  # (start offset, end offset from D0, every, tz, group_by, tags)
    (timedelta(0), timedelta(days=3), timedelta(days=1), None, (), None),
    (timedelta(0), timedelta(days=3), timedelta(days=1), "Asia/Jakarta", ("site",), None),
    (timedelta(0), timedelta(days=3), timedelta(days=1), "Asia/Kolkata", (), {"iface": "wlan0"}),
    (timedelta(0), timedelta(days=3), timedelta(days=2), "Asia/Jakarta", ("ap",), None),
    (timedelta(minutes=7, seconds=30), timedelta(days=2, hours=21, minutes=2), H, None,
     ("site", "iface"), None),
    (timedelta(hours=20, minutes=1), timedelta(days=1, hours=3, minutes=59), M5, None,
     ("ap",), {"site": "Pasar Gedhé"}),
    (timedelta(hours=5), timedelta(days=2, hours=7), timedelta(minutes=7), None, (), None),
    (timedelta(hours=1, seconds=1), timedelta(days=2, hours=23, minutes=59, seconds=59), None,
     None, ("ap",), None),
    (timedelta(0), timedelta(days=3), None, None, ("site",), {"iface": "wlan0"}),
    (timedelta(hours=13), timedelta(hours=13, minutes=4), None, None, (), None),
]


def check_against_oracle_and_raw(store: MetricStore, data: list[Sample],
                                 aggs: tuple[str, ...] = ("sum", "mean", "count", "min", "max")
                                 ) -> int:
    raw = twin(store, rollups=False)
    n = 0
    try:
        for a, b, every, tz, group_by, tags in ROLLUP_QUERIES:
            for field in ("rx_bytes", "rx_bps"):
                for agg in aggs:
                    kw = dict(start=D0 + a, end=D0 + b, every=every, tz=tz, group_by=group_by,
                              tags=tags)
                    want = expect(data, field, agg, **kw)
                    assert want, kw  # every query has data: no vacuous comparisons
                    assert read(store, field, agg, **kw) == want, (field, agg, kw)
                    assert read(raw, field, agg, **kw) == want, (field, agg, kw)
                    n += 1
    finally:
        raw.close()
    return n


def test_rollups_answer_like_raw_points(store: MetricStore) -> None:
    data = traffic(D0, 3 * 1440)
    put_in_rounds(store, data, 240)
    store.refresh_rollups()
    assert check_against_oracle_and_raw(store, data) == 100
    # last is read from raw points; per series it is well defined
    kw = dict(start=D0 + H, end=D0 + timedelta(days=2, minutes=3), every=timedelta(days=1),
              group_by=("ap", "iface"))
    assert read(store, "rx_bytes", "last", **kw) == expect(data, "rx_bytes", "last", **kw)


def test_whole_units_come_from_rollups_and_edges_from_raw(store: MetricStore) -> None:
    data = traffic(D0, 3 * 1440)
    put(store, data)
    store.refresh_rollups()
    hole = (D0 + timedelta(days=1, hours=6), D0 + timedelta(days=1, hours=7))
    delete_raw(store, *hole)
    kept = [x for x in data if not hole[0] <= x.time < hole[1]]
    month = dict(start=D0, end=D0 + timedelta(days=3), group_by=("ap",))
    # whole days and hours: rollups still hold the deleted points ...
    assert read(store, "rx_bytes", "sum", **month) == expect(data, "rx_bytes", "sum", **month)
    hours = dict(start=hole[0] - H, end=hole[1] + H, every=H, group_by=("site",))
    assert read(store, "rx_bytes", "count", **hours) == \
        expect(data, "rx_bytes", "count", **hours)
    # ... while the raw twin no longer does (the check has teeth)
    raw = twin(store, rollups=False)
    assert read(raw, "rx_bytes", "sum", **month) == expect(kept, "rx_bytes", "sum", **month)
    assert read(raw, "rx_bytes", "sum", **month) != read(store, "rx_bytes", "sum", **month)
    raw.close()
    # a partial edge inside the hole is read raw (deleted), the whole 5-minute
    # units after it from rollups (not deleted)
    edge = dict(start=hole[0] + timedelta(minutes=2), end=hole[1], group_by=("ap",))
    whole = dict(start=hole[0] + timedelta(minutes=5), end=hole[1], group_by=("ap",))
    assert read(store, "rx_bytes", "count", **edge) == \
        expect(data, "rx_bytes", "count", **whole)


def test_late_points_overwrites_and_redelivery_stay_exact(store: MetricStore) -> None:
    data = traffic(D0, 2 * 1440)
    put(store, data)
    store.refresh_rollups()
    day = dict(start=D0, end=D0 + timedelta(days=2), every=timedelta(days=1))
    by_ap = dict(start=D0, end=D0 + timedelta(days=2), group_by=("ap",))
    sums0 = expect(data, "rx_bytes", "sum", **by_ap)
    counts0 = expect(data, "rx_bytes", "count", **by_ap)
    days0 = expect(data, "rx_bytes", "sum", **day)
    assert read(store, "rx_bytes", "sum", **by_ap) == sums0

    # a late point at a new instant inside an already rolled-up hour of day 2
    ap2 = {"site": "Pasar Gedhé", "ap": "ap2", "iface": "wlan0"}
    late_t = D0 + timedelta(days=1, hours=10, minutes=2, seconds=30)
    put(store, [Sample("ap_traffic", ap2, {"rx_bytes": 5, "rx_bps": 0.25}, late_t)])
    assert read(store, "rx_bytes", "sum", **by_ap) == {**sums0, ("ap2",): sums0[("ap2",)] + 5}
    assert read(store, "rx_bytes", "count", **by_ap) == \
        {**counts0, ("ap2",): counts0[("ap2",)] + 1}
    assert read(store, "rx_bytes", "sum", **day) == \
        [({}, [days0[0][1][0], (D0 + timedelta(days=1), days0[0][1][1][1] + 5)])]
    site = dict(start=D0 + timedelta(days=1, hours=10), end=D0 + timedelta(days=1, hours=11),
                tags={"iface": "wlan0"}, group_by=("site",))
    site0 = expect(data, "rx_bytes", "sum", **site)
    assert read(store, "rx_bytes", "sum", **site) == \
        {**site0, ("Pasar Gedhé",): site0[("Pasar Gedhé",)] + 5}

    # an overwrite (same series and time, new value) replaces, never adds
    ap1 = {"site": "Pasar Gedhé", "ap": "ap1", "iface": "wlan0"}
    t_over = D0 + timedelta(hours=10, minutes=7)
    [old] = [x for x in data if x.time == t_over and x.tags == ap1]
    put(store, [Sample("ap_traffic", ap1, {"rx_bytes": 10**6}, t_over)])
    got = read(store, "rx_bytes", "sum", **by_ap)
    assert got[("ap1",)] == sums0[("ap1",)] - old.fields["rx_bytes"] + 10**6
    assert read(store, "rx_bytes", "count", **by_ap)[("ap1",)] == counts0[("ap1",)]
    assert read(store, "rx_bytes", "max", **by_ap)[("ap1",)] == 10**6
    # the overwrite kept the point's other field (fields merge)
    assert read(store, "rx_bps", "count", **by_ap) == expect(data, "rx_bps", "count", **by_ap) \
        | {("ap2",): counts0[("ap2",)] + 1}

    # redelivering a stored point changes nothing
    before = read(store, "rx_bytes", "sum", **by_ap)
    put(store, [x for x in data if x.time == D0 + timedelta(hours=3)])
    assert read(store, "rx_bytes", "sum", **by_ap) == before

    # late data written by another instance (e.g. an import) is seen by this one
    other = twin(store, rollups=True)
    put(other, [Sample("ap_traffic", ap2, {"rx_bytes": 7}, late_t + timedelta(seconds=1))])
    other.close()
    assert read(store, "rx_bytes", "sum", **by_ap)[("ap2",)] == before[("ap2",)] + 7
    raw = twin(store, rollups=False)
    for q in (by_ap, day, site):
        for agg in ("sum", "count", "max", "mean"):
            assert read(store, "rx_bytes", agg, **q) == read(raw, "rx_bytes", agg, **q)
    raw.close()


def test_frontier_follows_live_writes_without_refresh(store: MetricStore) -> None:
    """Written in time order with a flush every 10 minutes, as a live service does;
    exact at every step, and the oldest hour rolled up without refresh_rollups()."""
    data = traffic(D0, 180)
    chunks = [[x for x in data if D0 + timedelta(minutes=k) <= x.time
               < D0 + timedelta(minutes=k + 10)] for k in range(0, 180, 10)]
    written: list[Sample] = []
    raw = twin(store, rollups=False)
    for chunk in chunks:
        put(store, chunk)
        written += chunk
        newest = chunk[-1].time + timedelta(minutes=1)
        for kw in (dict(start=D0, end=newest, group_by=("ap",)),
                   dict(start=D0 + timedelta(minutes=3), end=newest, every=M5)):
            want = expect(written, "rx_bytes", "sum", **kw)
            assert read(store, "rx_bytes", "sum", **kw) == want
            assert read(raw, "rx_bytes", "sum", **kw) == want
    raw.close()
    first_hour = dict(start=D0, end=D0 + H, group_by=("ap", "iface"))
    delete_raw(store, D0, D0 + H)
    assert read(store, "rx_bytes", "sum", **first_hour) == \
        expect(data, "rx_bytes", "sum", **first_hour)


def test_local_days_across_dst_through_rollups(store: MetricStore) -> None:
    start = datetime(2026, 3, 27, 12, tzinfo=UTC)  # Berlin springs forward on Mar 29
    data = traffic(start, 3 * 1440)
    put(store, data)
    store.refresh_rollups()
    raw = twin(store, rollups=False)
    for tz, every in (("Europe/Berlin", timedelta(days=1)), ("Europe/Berlin", timedelta(days=2)),
                      ("America/St_Johns", timedelta(days=1)), ("Asia/Kolkata", timedelta(days=1))):
        for agg in ("sum", "count", "mean", "max"):
            kw = dict(start=start + timedelta(minutes=1), end=start + timedelta(days=3),
                      every=every, tz=tz, group_by=("site",))
            want = expect(data, "rx_bytes", agg, **kw)
            assert len(want[0][1]) >= 2
            assert read(store, "rx_bytes", agg, **kw) == want, (tz, every, agg)
            assert read(raw, "rx_bytes", agg, **kw) == want, (tz, every, agg)
    raw.close()


def test_latest_keeps_the_newest_and_sees_other_instances(store: MetricStore) -> None:
    tags = {"site": "Pasar Gedhé", "ap": "ap1", "radio": "all"}
    put(store, [Sample("ap_clients", tags, {"clients": 5}, D0 + H)])
    put(store, [Sample("ap_clients", tags, {"clients": 9}, D0)])  # older: not the latest
    [got] = store.latest("ap_clients")
    assert (got.fields, got.time) == ({"clients": 5}, D0 + H)
    put(store, [Sample("ap_clients", tags, {"clients": 6, "note": "x"}, D0 + 2 * H),
                Sample("ap_clients", {"site": "B"}, {"clients": 1}, D0)])
    other = twin(store, rollups=True)  # another process reads the same store
    got = sorted(other.latest("ap_clients"), key=lambda x: x.time)
    assert [(x.tags, x.fields, x.time) for x in got] == [
        ({"site": "B"}, {"clients": 1}, D0),
        (tags, {"clients": 6, "note": "x"}, D0 + 2 * H)]
    put(other, [Sample("ap_clients", tags, {"clients": 7}, D0 + 3 * H)])
    other.close()
    [got] = store.latest("ap_clients", tags={"ap": "ap1"}, since=D0 + 3 * H)
    assert (got.fields, got.time) == ({"clients": 7}, D0 + 3 * H)
    assert store.latest("ap_clients", since=D0 + 3 * H + timedelta(microseconds=1)) == []


def test_data_written_without_rollups_is_rolled_up_later(store: MetricStore) -> None:
    """A store filled before rollups existed (or by a raw-only writer) gets them."""
    data = traffic(D0, 1440)
    raw = twin(store, rollups=False)
    put(raw, data)
    raw.close()
    newest: dict[tuple[str, str], datetime] = {}
    for x in data:
        newest[(x.tags["ap"], x.tags["iface"])] = x.time  # data is in time order
    fresh = twin(store, rollups=True)
    got = {(x.tags["ap"], x.tags["iface"]): x.time for x in fresh.latest("ap_traffic")}
    assert got == newest  # from raw points: no rollups yet
    fresh.refresh_rollups()
    delete_raw(fresh, D0 + H, D0 + 23 * H)
    kw = dict(start=D0 + H, end=D0 + 23 * H, every=H, group_by=("ap",))
    assert read(fresh, "rx_bytes", "sum", **kw) == expect(data, "rx_bytes", "sum", **kw)
    got = {(x.tags["ap"], x.tags["iface"]): x.time for x in fresh.latest("ap_traffic")}
    assert got == newest  # now from the maintained last values
    fresh.close()


def test_points_raw_in_range_and_first_per_series(store: MetricStore) -> None:
    """``points``: raw points in a half-open range, sorted by time then tags, and
    the N oldest per series from a start with no end (the report's month edges)."""
    a = {"site": "S", "ap": "a1", "iface": "eth0"}
    b = {"site": "S", "ap": "a2", "iface": "eth0"}
    w = {"site": "S", "ap": "a2", "iface": "wlan0"}
    rows = [(a, 0, 100, 60.0), (a, 60, 200, 60.0), (a, 120, 300, 60.0), (a, 3600 * 30, 7, 103_080.0),
            (b, 30, 11, 30.5), (b, 90, 12, 60.0), (w, 90, 5, 60.0)]
    put(store, [Sample("ap_traffic", tags, {"rx_bytes": n, "tx_bytes": n * 2, "interval_s": iv},
                       T0 + timedelta(seconds=s)) for tags, s, n, iv in rows])

    def seen(got):
        return [(g.tags["ap"], g.tags["iface"], (g.time - T0).total_seconds(), g.fields["rx_bytes"])
                for g in got]

    got = store.points("ap_traffic", start=T0 + timedelta(seconds=30), end=T0 + timedelta(seconds=120))
    assert seen(got) == [("a2", "eth0", 30.0, 11), ("a1", "eth0", 60.0, 200), ("a2", "eth0", 90.0, 12),
                         ("a2", "wlan0", 90.0, 5)]
    same_typed(dict(got[0].fields), {"rx_bytes": 11, "tx_bytes": 22, "interval_s": 30.5})
    assert dict(got[0].tags) == b
    # the first point at or after an instant, per series, however far away it is
    first = store.points("ap_traffic", start=T0 + timedelta(seconds=61), first=1)
    assert seen(first) == [("a2", "eth0", 90.0, 12), ("a2", "wlan0", 90.0, 5), ("a1", "eth0", 120.0, 300)]
    later = store.points("ap_traffic", start=T0 + timedelta(seconds=121), first=1)
    assert seen(later) == [("a1", "eth0", 108_000.0, 7)]
    assert seen(store.points("ap_traffic", start=T0, first=2, tags={"ap": "a1"})) == [
        ("a1", "eth0", 0.0, 100), ("a1", "eth0", 60.0, 200)]
    assert store.points("ap_traffic", start=T0 + timedelta(days=9)) == []
    assert store.points("nothing_here", start=T0) == []
