"""The MetricStore contract: what every metric store persists and answers.

Semantics are InfluxDB's, so that the embedded SQLite store and InfluxDB give
the same numbers for the same query:

* a *series* is a measurement plus its full tag set;
* ranges are half-open, ``start <= time < end``;
* buckets are aligned to the epoch (or to local midnight when ``tz`` is given
  and ``every`` is a whole number of days), labelled by their start, and empty
  buckets are omitted;
* ``mean`` is a float, ``sum``/``max``/``last`` keep the field's type.

Reads must not depend on how a store answers them: both keep rollups (see
docs/stores.md) and still give exactly the numbers raw points would give.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Literal, Mapping, Optional, Sequence

from ..sample import FieldValue, Sample

Aggregate = Literal["mean", "max", "min", "sum", "last", "count"]
AGGREGATES: tuple[str, ...] = ("mean", "max", "min", "sum", "last", "count")


class StoreError(Exception):
    """A store failed; the message names the store and the cause, never a secret."""


class StoreRejected(StoreError):
    """The store refused some samples for good (a field type conflict, a bad
    request): sending them again cannot help. The rest of the batch was written."""


class StoreUnavailable(StoreError):
    """The store cannot be reached now (refused, timeout, 5xx): worth retrying."""


@dataclass(frozen=True)
class PruneResult:
    """What one retention pass removed (docs/retention.md)."""

    raw_rows: int = 0
    rollup_rows: int = 0
    raw_until: dict[str, datetime] = field(default_factory=dict)  # per measurement: raw gone before


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime
    value: FieldValue


@dataclass(frozen=True, slots=True)
class Series:
    tags: Mapping[str, str]  # the group-by tag values of this series
    buckets: list[Bucket]


class MetricStore(abc.ABC):
    """Persists Samples and answers the reads the dashboard and reports need."""

    @abc.abstractmethod
    def write(self, samples: Iterable[Sample]) -> None:
        """Queue samples for writing (may batch); ``flush`` makes them durable."""

    @abc.abstractmethod
    def flush(self) -> None:
        """Write everything queued; raise StoreUnavailable if the store is down."""

    def close(self) -> None:
        self.flush()

    def discard_unsent(self) -> None:
        """Forget samples written but not yet stored (after a failed ``flush``).

        For a caller that keeps its own copy and retries (the service's
        SampleWriter, with its spool): the store must not hold a second copy
        in memory, nor send samples the caller has since dropped on purpose."""

    def refresh_rollups(self) -> None:
        """Bring rollups up to everything stored, now (after a bulk import). Reads
        are exact without it; stores without rollups do nothing."""
        self.flush()

    def prune(self, *, raw_before: Optional[datetime], rollups_before: Optional[datetime],
              keep_after: Sequence[datetime] = ()) -> Optional[PruneResult]:
        """Delete raw points older than ``raw_before`` that rollups already hold, and
        rollups older than ``rollups_before``; None: the store expires data itself
        (InfluxDB retention policies). ``keep_after``: for each of these instants keep
        every series' first raw point at or after it (month edges, for the report)."""
        return None

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise StoreError/StoreUnavailable unless the store is usable."""

    @abc.abstractmethod
    def latest(
        self,
        measurement: str,
        *,
        tags: Optional[Mapping[str, str]] = None,
        since: Optional[datetime] = None,
    ) -> list[Sample]:
        """The newest sample of every series of ``measurement`` (matching ``tags``)."""

    @abc.abstractmethod
    def aggregate(
        self,
        measurement: str,
        field: str,
        *,
        start: datetime,
        end: datetime,
        every: timedelta,
        agg: Aggregate = "mean",
        tags: Optional[Mapping[str, str]] = None,
        group_by: Sequence[str] = (),
        tz: Optional[str] = None,
    ) -> list[Series]:
        """``agg(field)`` per bucket of ``every`` over [start, end), one Series per group."""

    @abc.abstractmethod
    def totals(
        self,
        measurement: str,
        field: str,
        *,
        start: datetime,
        end: datetime,
        group_by: Sequence[str],
        tags: Optional[Mapping[str, str]] = None,
        agg: Aggregate = "sum",
    ) -> dict[tuple[str, ...], FieldValue]:
        """``agg(field)`` over [start, end) per distinct value of the ``group_by`` tags."""

    @abc.abstractmethod
    def points(
        self,
        measurement: str,
        *,
        start: datetime,
        end: Optional[datetime] = None,
        tags: Optional[Mapping[str, str]] = None,
        first: Optional[int] = None,
    ) -> list[Sample]:
        """Raw points of ``measurement`` in [start, end) (``end`` None: no upper bound),
        sorted by time, then tags; ``first=N`` keeps only the N oldest of each series.

        Never answered from rollups: meant for a few points, e.g. the first point of
        every series after a month boundary (the monthly report apportions the
        interval bytes that cross it, docs/counters.md).
        """

    def __enter__(self) -> "MetricStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
