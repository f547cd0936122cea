"""One contract, two stores: SQLite and a real influxd must give the same answers.

Every expected number below is computed by hand (or, for the month of data, by a
plain Python filter over the generated input) - never read back from a store.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest

from hotspot_monitor.config.models import InfluxSettings, SqliteSettings, StoreSettings
from hotspot_monitor.sample import Sample
from hotspot_monitor.stores import MetricStore, open_store
from hotspot_monitor.stores.influxdb import InfluxStore
from hotspot_monitor.stores.lineprotocol import Serializer, line

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
