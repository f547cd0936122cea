"""InfluxDB over the 1.x HTTP API (``/write``, ``/query``, ``/ping``).

One code path for InfluxDB 1.x (native) and 2.x/3.x (their v1 compatibility
API: database = bucket, ``Authorization: Token``). Lines come from
``lineprotocol`` (Point's escaping); queries are built by ``influxql`` only.

Writes are pipelined: ``write`` serializes on the caller's thread and hands
full batches to one sender thread, so Python's serialization overlaps with
InfluxDB's ingest. ``flush`` waits until everything queued is sent and raises
the first error a send hit. After the raw points of a flush are written,
``influx_rollups`` brings rollups and ``:last`` tables up to date, and reads
use them (``rollups.plan``) - see docs/stores.md.
"""
from __future__ import annotations

import base64
import json
import logging
import queue
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Optional, Sequence

import urllib3

from ..config.models import InfluxSettings
from ..sample import FieldValue, Sample, from_us, to_us
from . import influxql
from .base import (StoreRejected, Aggregate, Bucket, MetricStore, PruneResult, Series, StoreError,
                   StoreUnavailable)
from .influx_rollups import (LAST_BASE_US, SLOT_SPAN_US, TAG_PREFIX, InfluxRollups,
                             edge_measurement, is_derived, last_measurement, tier_measurement)
from .lineprotocol import Serializer
from .rollups import (ROLLED_TYPES, STATS, UNITS, Piece, final, merge, plan, site_usable,
                      usable_units)

log = logging.getLogger(__name__)

MAX_PENDING_BATCHES = 20  # kept for retry while InfluxDB is down, then oldest dropped


def safe_url(url: str) -> str:
    """The URL without user:password, fit for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


class InfluxStore(MetricStore):
    """MetricStore on InfluxDB's 1.x HTTP API.

    ``rollups=False`` maintains nothing and reads only raw points (for comparisons;
    a store that writes without rollups leaves other instances' rollups stale).
    """

    def __init__(self, settings: InfluxSettings, *, rollups: bool = True) -> None:
        self.s = settings
        self.url = safe_url(settings.url)
        self._secrets = [x for x in (
            settings.password.get_secret_value() if settings.password else None,
            settings.token.get_secret_value() if settings.token else None,
            urllib.parse.urlsplit(settings.url).password) if x]
        self._headers = {"User-Agent": "hotspot-monitor"}
        user = settings.username or urllib.parse.urlsplit(settings.url).username
        pw = (settings.password.get_secret_value() if settings.password
              else urllib.parse.urlsplit(settings.url).password)
        if settings.token:
            self._headers["Authorization"] = "Token " + settings.token.get_secret_value()
        elif user:
            basic = base64.b64encode(f"{user}:{pw or ''}".encode()).decode()
            self._headers["Authorization"] = "Basic " + basic
        self._http = urllib3.PoolManager(
            num_pools=2, maxsize=4, retries=False,
            timeout=urllib3.Timeout(total=settings.timeout_s),
            cert_reqs="CERT_REQUIRED" if settings.verify_tls else "CERT_NONE")
        self._write_url = self._write_url_for(settings.retention_policy)
        # rollups, :last tables and the frontier: kept longer than raw points (docs/retention.md)
        self.rollup_rp = settings.rollup_retention_policy or settings.retention_policy
        self._derived_write_url = self._write_url_for(self.rollup_rp)
        self._serialize = Serializer()
        self._lines: list[str] = []
        self._last_submit = time.monotonic()
        self._lock = threading.Lock()  # guards _lines and _pending
        self._pending: list[bytes] = []  # batches that failed with StoreUnavailable
        self._error: Optional[StoreError] = None
        self._queue: "queue.Queue[Optional[bytes]]" = queue.Queue(maxsize=2)
        self._sender: Optional[threading.Thread] = None
        self._field_types: dict[str, dict[str, str]] = {}
        self.dropped_batches = 0
        self._rollups = InfluxRollups(self) if rollups else None
        self._readers = ThreadPoolExecutor(max_workers=3, thread_name_prefix="influx-read")
        if settings.create_database:
            self._create_database()

    # ---------------------------------------------------------------- writes
    def write(self, samples: Iterable[Sample]) -> None:
        ser = self._serialize
        batch: list[str] = []
        kept: list[Sample] = []
        for s in samples:
            text = ser(s)
            if text is not None:
                batch.append(text)
                kept.append(s)
        full = []
        with self._lock:
            self._lines.extend(batch)
            if self._rollups is not None:  # with the lines: a flush takes both or neither
                self._rollups.track(kept)
            n = self.s.batch_size
            while len(self._lines) >= n:
                full.append("\n".join(self._lines[:n]).encode())
                del self._lines[:n]
            now = time.monotonic()
            if self._lines and now - self._last_submit >= self.s.flush_interval_s:
                # a slow trickle still reaches InfluxDB within flush_interval_s
                full.append("\n".join(self._lines).encode())
                self._lines.clear()
            if full:
                self._last_submit = now
        for body in full:
            self._submit(body)
        self._raise_pending_error()

    def flush(self) -> None:
        with self._lock:
            rest = "\n".join(self._lines).encode() if self._lines else None
            self._lines.clear()
            retry, self._pending = self._pending, []
            touched = self._rollups.take() if self._rollups is not None else None
        for body in retry + ([rest] if rest else []):
            self._submit(body)
        self._queue.join()
        refused: Optional[StoreRejected] = None
        try:
            self._raise_pending_error()
        except StoreRejected as e:  # the rest of the batch is stored: roll it up
            refused = e
        except StoreError:
            if touched is not None:
                with self._lock:
                    self._rollups.give_back(touched)
            raise
        if touched is not None:
            try:
                self._rollups.maintain(touched, rebuild_last=refused is not None)
            except StoreError:
                with self._lock:
                    self._rollups.give_back(touched)
                raise
        if refused is not None:
            raise refused

    def discard_unsent(self) -> None:
        self._queue.join()  # the sender parks what it could not send in _pending
        with self._lock:
            self._lines.clear()
            self._pending.clear()
            self._error = None

    def set_writer_lane(self, index: int, count: int) -> None:
        """One of ``count`` writers of this database (shards): keep our ``:last`` slots apart
        and share the rollup frontier (see :meth:`set_rollup_leader`)."""
        if self._rollups is not None:
            self._rollups.lane = (index, count)
            self._rollups.shared = count > 1

    def set_rollup_leader(self, leading: bool) -> None:
        """Of several writers, only the leader moves the rollup frontier (the fleet-wide
        rollup queries run once); the others recompute the units of their late points."""
        if self._rollups is not None:
            self._rollups.advancing = leading

    def refresh_rollups(self) -> None:
        """Roll up everything stored so far, now (e.g. after a bulk import or on a
        database written before rollups existed)."""
        self.flush()
        if self._rollups is not None:
            self._rollups.refresh()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._sender is not None:
                self._queue.put(None)
                self._sender.join(10)
                self._sender = None
            self._readers.shutdown(wait=False)
            self._http.clear()

    def _submit(self, body: bytes) -> None:
        if self._sender is None or not self._sender.is_alive():
            self._sender = threading.Thread(target=self._send_loop, name="influx-writer",
                                            daemon=True)
            self._sender.start()
        self._queue.put(body)

    def _send_loop(self) -> None:
        while True:
            body = self._queue.get()
            try:
                if body is None:
                    return
                if isinstance(self._error, StoreUnavailable):
                    # already failed in this round: park it, don't wait for another timeout
                    raise self._error
                self._post_write(body)
            except StoreUnavailable as e:
                with self._lock:
                    self._pending.append(body)
                    if len(self._pending) > MAX_PENDING_BATCHES:
                        self._pending.pop(0)
                        self.dropped_batches += 1
                    self._error = self._error or e
            except StoreError as e:  # bad data: retrying cannot help
                self.dropped_batches += 1
                with self._lock:
                    self._error = self._error or e
            except Exception as e:  # never let the sender die silently
                with self._lock:
                    self._error = self._error or StoreError(self._scrub(f"InfluxDB {self.url}: {e!r}"))
            finally:
                self._queue.task_done()

    def _raise_pending_error(self) -> None:
        with self._lock:
            err, self._error = self._error, None
        if err is not None:
            raise err

    def _write_url_for(self, rp: Optional[str]) -> str:
        params = {"db": self.s.database, "precision": "u"}
        if rp:
            params["rp"] = rp
        return self.url + "/write?" + urllib.parse.urlencode(params)

    def _post_write(self, body: bytes, derived: bool = False) -> None:
        """POST lines: raw points to the raw RP, rollup lines (``derived``) to the rollup RP."""
        r = self._request("POST", self._derived_write_url if derived else self._write_url,
                          body, "write")
        if r.status != 204:
            raise self._http_error(r, "write")

    # ---------------------------------------------------------------- admin
    def ping(self) -> None:
        r = self._request("GET", self.url + "/ping", None, "ping")
        if r.status != 204:
            raise self._http_error(r, "ping")
        # /ping needs no auth: check credentials and database with a real query
        self._query(influxql.show_field_keys(self.s.database, self.s.retention_policy,
                                             "hotspot_ping"))

    def _create_database(self) -> None:
        try:
            self._query(influxql.create_database(self.s.database), db=False)
        except StoreUnavailable:
            raise
        except StoreError as e:
            if getattr(e, "http_status", None) == 401:  # bad credentials: say so now
                raise
            # InfluxDB 2.x/3.x refuse CREATE DATABASE over the v1 API (buckets are
            # made another way); 1.x non-admin users too. Later calls say if the
            # database really is missing.
            log.info("could not create database (continuing): %s", e)

    # ---------------------------------------------------------------- reads
    def latest(self, measurement: str, *, tags: Optional[Mapping[str, str]] = None,
               since: Optional[datetime] = None) -> list[Sample]:
        if self._rollups is None or self._rollups.frontier(measurement) is None:
            return self._latest_raw(measurement,
                                    influxql.select_latest(self._src(measurement), tags, since))
        q = influxql.select_last_table(self._src(last_measurement(measurement)), LAST_BASE_US,
                                      LAST_BASE_US + SLOT_SPAN_US, tags, TAG_PREFIX, since)
        out = []
        for series in self._query(q):
            cols = series["columns"]
            for row in series.get("values", []):
                rec = dict(zip(cols, row))
                stags = {c[len(TAG_PREFIX):]: v for c, v in rec.items()
                         if c.startswith(TAG_PREFIX) and v is not None}
                out.append(Sample(measurement, stags, json.loads(rec["_fields"]),
                                  from_us(rec["_time"])))
        return out

    def _latest_raw(self, measurement: str, q: str) -> list[Sample]:
        """Samples from a ``SELECT * ... GROUP BY *`` over raw points."""
        return self._samples(measurement, self._query(q))

    def _samples(self, measurement: str, result: list[dict[str, Any]]) -> list[Sample]:
        """Samples of ``measurement`` from the series of a ``SELECT * ... GROUP BY *``."""
        types = self._types(measurement)
        out = []
        for series in result:
            cols = series["columns"]
            if any(c not in types for c in cols[1:]):
                types = self._types(measurement, cols[1:])
            stags = {k: v for k, v in (series.get("tags") or {}).items() if v != ""}
            for row in series.get("values", []):
                fields = {c: _typed(v, types.get(c))
                          for c, v in zip(cols[1:], row[1:]) if v is not None}
                if fields:
                    out.append(Sample(measurement, stags, fields, from_us(row[0])))
        return out

    def points(self, measurement: str, *, start: datetime, end: Optional[datetime] = None,
               tags: Optional[Mapping[str, str]] = None, first: Optional[int] = None) -> list[Sample]:
        """Raw points, and the month-edge copies (``<m>:edge``) that outlive them: the
        first point after a month edge stays findable once its shard has expired."""
        raw, kept = self._query_many([
            influxql.select_points(self._src(m), tags, start, end, first)
            for m in (measurement, edge_measurement(measurement))])
        by_series: dict[tuple, dict[int, Sample]] = {}
        for result in (kept, raw):  # raw last: it wins where both have a point
            for s in self._samples(measurement, result):
                by_series.setdefault(tuple(sorted(s.tags.items())), {})[to_us(s.time)] = s
        out = []
        for pts in by_series.values():
            ordered = [pts[t] for t in sorted(pts)]
            out += ordered[:first] if first is not None else ordered
        return sorted(out, key=lambda s: (s.time, sorted(s.tags.items())))

    def prune(self, *, raw_before: Optional[datetime], rollups_before: Optional[datetime],
              keep_after: Sequence[datetime] = ()) -> PruneResult:
        """InfluxDB expires points by its retention policies (``setup-influx``); here only
        each series' first raw point after every ``keep_after`` instant that is still
        within the raw retention is copied to ``<m>:edge`` in the rollup RP (idempotent;
        repeated passes pick up late points)."""
        now = datetime.now(timezone.utc)
        edges = [e for e in keep_after if (raw_before is None or e >= raw_before) and e <= now]
        lines = []
        if edges:
            for m in self._raw_measurements():
                for e in edges:
                    q = influxql.select_points(self._src(m), None, e, None, 1)
                    for s in self._latest_raw(m, q):
                        lines.append(self._serialize(Sample(edge_measurement(m), s.tags, s.fields,
                                                            s.time)))
        for i in range(0, len(lines), self.s.batch_size):
            self._post_write("\n".join(x for x in lines[i:i + self.s.batch_size] if x).encode(),
                             derived=True)
        return PruneResult(0, 0, {})

    def _raw_measurements(self) -> list[str]:
        rows = self._query("SHOW MEASUREMENTS")
        return [row[0] for series in rows for row in series.get("values", [])
                if not is_derived(row[0])]

    def aggregate(self, measurement: str, field: str, *, start: datetime, end: datetime,
                  every: timedelta, agg: Aggregate = "mean",
                  tags: Optional[Mapping[str, str]] = None, group_by: Sequence[str] = (),
                  tz: Optional[str] = None) -> list[Series]:
        ftype = self._types(measurement, [field]).get(field)
        rtype = _result_type(agg, ftype)
        lo, hi = to_us(start), to_us(end)
        pieces = self._plan(measurement, agg, ftype, lo, hi, usable_units(lo, hi, every, tz)
                            if lo < hi else (), tags, group_by)
        if pieces is None:
            q = influxql.select_aggregate(self._src(measurement), field, agg, start, end,
                                          every, tags, group_by, tz)
            out = []
            for series in self._query(q):
                stags = series.get("tags") or {}
                buckets = [Bucket(from_us(t), _typed(v, rtype))
                           for t, v in series.get("values", []) if v is not None]
                if buckets:
                    out.append(Series({g: stags.get(g, "") for g in group_by}, buckets))
        else:
            parts = self._collect(measurement, field, agg, pieces, tags, group_by, every, tz)
            by_group: dict[tuple, dict[int, list]] = {}
            for (key, b), p in parts.items():
                by_group.setdefault(key, {})[b] = p
            out = [Series(dict(zip(group_by, key)),
                          [Bucket(from_us(b), final(acc[b], agg, ftype)) for b in sorted(acc)])
                   for key, acc in by_group.items()]
        out.sort(key=lambda s: tuple(s.tags.get(g, "") for g in group_by))
        return out

    def totals(self, measurement: str, field: str, *, start: datetime, end: datetime,
               group_by: Sequence[str], tags: Optional[Mapping[str, str]] = None,
               agg: Aggregate = "sum") -> dict[tuple[str, ...], FieldValue]:
        ftype = self._types(measurement, [field]).get(field)
        lo, hi = to_us(start), to_us(end)
        pieces = self._plan(measurement, agg, ftype, lo, hi, UNITS, tags, group_by)
        if pieces is not None:
            parts = self._collect(measurement, field, agg, pieces, tags, group_by, None, None)
            return {key: final(p, agg, ftype) for (key, _b), p in parts.items()}
        rtype = _result_type(agg, ftype)
        q = influxql.select_totals(self._src(measurement), field, agg, start, end, tags,
                                   group_by)
        out: dict[tuple[str, ...], FieldValue] = {}
        for series in self._query(q):
            stags = series.get("tags") or {}
            for _t, v in series.get("values", []):
                if v is not None:
                    out[tuple(stags.get(g, "") for g in group_by)] = _typed(v, rtype)
        return out

    def _plan(self, m: str, agg: str, ftype: Optional[str], lo: int, hi: int,
              units: Sequence[int], tags: Optional[Mapping[str, str]],
              group_by: Sequence[str]) -> Optional[list[Piece]]:
        """Pieces to read from rollups and raw points, or None: one plain raw query.

        ``mean`` is always sum / count: InfluxDB's own mean() merges per-shard float
        means, which can differ from the exact value in the last bits.
        """
        if agg not in STATS or ftype not in ROLLED_TYPES or lo >= hi:
            return None
        frontier = self._rollups.frontier(m) if self._rollups is not None else None
        if frontier is None or frontier <= lo:
            pieces = [Piece(lo, hi, None)]
        else:
            pieces = plan(lo, hi, frontier, units, site_usable(tags, group_by))
        if agg != "mean" and all(p.tier is None for p in pieces):
            return None
        return pieces

    def _collect(self, m: str, field: str, agg: str, pieces: list[Piece],
                 tags: Optional[Mapping[str, str]], group_by: Sequence[str],
                 every: Optional[timedelta], tz: Optional[str]) -> dict[tuple, list]:
        """{(group key, bucket start µs): partial}, one statement per piece.

        The pieces go out as concurrent requests: InfluxDB's cost is mostly per
        series and statement, and it runs requests on all its cores.
        """
        statements = [influxql.select_stats(
            self._src(m if p.tier is None else tier_measurement(m, p.tier)), field, STATS[agg],
            p.tier is not None, p.lo, p.hi, tags, group_by, every, tz) for p in pieces]
        if len(statements) == 1:
            results = self._query_many(statements)
        else:
            results = list(self._readers.map(self._query, statements))
        out: dict[tuple, list] = {}
        for result in results:
            for series in result:
                stags = series.get("tags") or {}
                key = tuple(stags.get(g, "") for g in group_by)
                for row in series.get("values", []):
                    if row[1] is None:
                        continue
                    k = (key, row[0] if every is not None else 0)
                    acc = out.get(k)
                    out[k] = list(row[1:]) if acc is None else merge(acc, list(row[1:]), agg)
        return out

    # ---------------------------------------------------------------- HTTP
    def _src(self, measurement: str) -> str:
        """Where a measurement lives: rollup measurements in the rollup RP."""
        rp = self.rollup_rp if is_derived(measurement) else self.s.retention_policy
        return influxql.source(measurement, self.s.database, rp)

    def _types(self, measurement: str, need: Iterable[str] = ()) -> dict[str, str]:
        """Field types (float/integer/string/boolean): JSON turns float 1.0 into 1.

        Cached per measurement; re-read when a field in ``need`` is not known yet.
        """
        types = self._field_types.get(measurement)
        if types is None or any(f not in types for f in need):
            types = {}
            q = influxql.show_field_keys(self.s.database, self.s.retention_policy, measurement)
            for series in self._query(q):
                for key, ftype in series.get("values", []):
                    types.setdefault(key, ftype)
            if any(f not in types for f in need) and not is_derived(measurement):
                # raw points expired (retention): the rollups still know each field's type
                types = {**self._rolled_types(measurement), **types}
            if types:  # cache only once the measurement exists
                self._field_types[measurement] = types
        return types

    def _rolled_types(self, measurement: str) -> dict[str, str]:
        """Field types from the 5-minute rollup tier (``f:sum`` has f's type)."""
        from .rollups import SERIES_TIERS

        q = influxql.show_field_keys(self.s.database, self.rollup_rp,
                                     tier_measurement(measurement, SERIES_TIERS[0]))
        return {key[:-len(":sum")]: ftype for series in self._query(q)
                for key, ftype in series.get("values", []) if key.endswith(":sum")}

    def _query(self, q: str, db: bool = True) -> list[dict[str, Any]]:
        """Run one statement; return its series; raise StoreError with InfluxDB's text."""
        return self._query_many([q], db)[0]

    def _query_many(self, statements: list[str], db: bool = True) -> list[list[dict[str, Any]]]:
        """Run statements in one request; return each one's series."""
        params = {"q": ";\n".join(statements), "epoch": "u"}
        if db:
            params["db"] = self.s.database
        body = urllib.parse.urlencode(params).encode()
        r = self._request("POST", self.url + "/query", body, "query",
                          {"Content-Type": "application/x-www-form-urlencoded"})
        if r.status != 200:
            raise self._http_error(r, "query")
        try:
            doc = json.loads(r.data)
        except ValueError:
            raise StoreError(f"InfluxDB {self.url}: query answered with invalid JSON") from None
        if doc.get("error"):
            raise StoreError(self._scrub(f"InfluxDB {self.url}: query failed: {doc['error']}"))
        results = doc.get("results") or [{}]
        out = []
        for result in results:
            if result.get("error"):
                raise StoreError(self._scrub(
                    f"InfluxDB {self.url}: query failed: {result['error']} (database "
                    f"{self.s.database!r})"))
            series = result.get("series") or []
            if any(s.get("partial") for s in series) or result.get("partial"):
                raise StoreError(f"InfluxDB {self.url}: result truncated by the server's "
                                 "max-row-limit; raise it or narrow the query")
            out.append(series)
        out += [[] for _ in range(len(statements) - len(out))]
        return out

    def _request(self, method: str, url: str, body: Optional[bytes], what: str,
                 headers: Optional[dict[str, str]] = None) -> urllib3.BaseHTTPResponse:
        h = dict(self._headers)
        if headers:
            h.update(headers)
        try:
            return self._http.request(method, url, body=body, headers=h)
        except urllib3.exceptions.NewConnectionError as e:  # before TimeoutError: a subclass
            cause = "connection refused" if "refused" in str(e).lower() else _reason(e)
            raise StoreUnavailable(f"InfluxDB {self.url}: {what} failed: {cause}") from None
        except urllib3.exceptions.TimeoutError:
            raise StoreUnavailable(
                f"InfluxDB {self.url}: {what} timed out after {self.s.timeout_s}s") from None
        except urllib3.exceptions.HTTPError as e:
            raise StoreUnavailable(
                self._scrub(f"InfluxDB {self.url}: {what} failed: {_reason(e)}")) from None

    def _http_error(self, r: urllib3.BaseHTTPResponse, what: str) -> StoreError:
        err = self._http_error_for(r, what)
        err.http_status = r.status  # type: ignore[attr-defined]
        return err

    def _http_error_for(self, r: urllib3.BaseHTTPResponse, what: str) -> StoreError:
        text = r.data.decode("utf-8", "replace").strip()
        try:
            text = json.loads(text).get("error", text)
        except (ValueError, AttributeError):
            pass
        text = text[:500]
        if r.status in (401, 403):
            how = ("token" if self.s.token else "username/password" if "Authorization"
                   in self._headers else "no credentials")
            msg = (f"InfluxDB {self.url}: {what} refused, HTTP {r.status} "
                   f"(authentication/authorization with {how}): {text}")
            return StoreError(self._scrub(msg))
        if r.status == 404 and "database not found" in text:
            return StoreError(self._scrub(
                f"InfluxDB {self.url}: {what} failed: {text} (create it, or set "
                "create_database: true)"))
        msg = f"InfluxDB {self.url}: {what} failed, HTTP {r.status}: {text}"
        if r.status >= 500 or r.status in (408, 429):
            return StoreUnavailable(self._scrub(msg))
        if r.status == 400 and what == "write":
            return StoreRejected(self._scrub(msg))  # e.g. a field type conflict: a partial write
        return StoreError(self._scrub(msg))

    def _scrub(self, msg: str) -> str:
        for secret in self._secrets:
            msg = msg.replace(secret, "***")
        return msg


def _reason(e: Exception) -> str:
    reason = getattr(e, "reason", None) or e
    return str(reason).split(": ", 1)[-1][:200]


def _result_type(agg: str, ftype: Optional[str]) -> Optional[str]:
    if agg == "mean":
        return "float"
    if agg == "count":
        return "integer"
    return ftype


def _typed(v: Any, ftype: Optional[str]) -> FieldValue:
    """A JSON value with the field's InfluxDB type restored."""
    if ftype == "float":
        return float(v)
    if ftype == "integer":
        return int(v)
    return v
