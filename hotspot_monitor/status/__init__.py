"""Status engine (AP up/down, flapping), outage log and availability.

See docs/status.md for the rules and how unmonitored time is treated.
"""
from .availability import (Availability, Breakdown, CountedOutage, MaintenanceWindow,
                           availability, availability_breakdown, availability_by_district,
                           availability_by_site)
from .engine import ApRow, SiteRow, Snapshot, StatusEngine, site_state
from .statestore import CoverageSpan, HistoryMerge, MonitorSession, Outage, StateStore

__all__ = [
    "ApRow", "Availability", "Breakdown", "CountedOutage", "CoverageSpan", "HistoryMerge",
    "MaintenanceWindow", "MonitorSession", "Outage", "SiteRow", "Snapshot", "StateStore",
    "StatusEngine", "availability", "availability_breakdown", "availability_by_district",
    "availability_by_site", "site_state",
]
