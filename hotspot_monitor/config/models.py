"""Typed configuration: every default lives here, unknown keys are errors.

The YAML file is checked in two passes: pydantic checks shape and types
(`extra="forbid"` turns typos into errors), then :func:`semantic_errors` checks
what involves several entries (duplicate ids, unknown sites, SNMPv3 keys).
Secrets are ``SecretStr`` so that printing a model never shows them.
"""
from __future__ import annotations

import re
from datetime import time
from typing import Literal, Optional, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ..alerts.config import AlertsSettings, SmtpServer, alerts_errors
from ..citizens.config import CitizensSettings, citizens_errors

ID_RE = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_RE = re.compile(r"^\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SqliteSettings(Strict):
    path: str = "var/metrics.sqlite"


class InfluxSettings(Strict):
    url: str = "http://127.0.0.1:8086"
    database: str = "hotspot"
    retention_policy: Optional[str] = Field(
        None, min_length=1, description="RP of the raw points (default: the database's default RP)")
    rollup_retention_policy: Optional[str] = Field(
        None, min_length=1, description="RP of the rollups, :last tables and frontier "
        "(default: retention_policy); docs/retention.md")
    manage_retention: bool = Field(
        False, description="run creates/alters both RPs at start, as setup-influx does (needs admin)")
    username: Optional[str] = None
    password: Optional[SecretStr] = None
    token: Optional[SecretStr] = None
    batch_size: int = Field(5000, ge=1, le=100_000)
    flush_interval_s: float = Field(1.0, gt=0)
    timeout_s: float = Field(10.0, gt=0)
    create_database: bool = True
    verify_tls: bool = True


class RetentionSettings(Strict):
    """How long raw points and rollups are kept (docs/retention.md). Rollups keep exact
    sums, counts, minima and maxima, so month totals outlive the raw points."""

    raw_days: Optional[float] = Field(35.0, ge=1, description="null: keep raw points forever")
    rollup_days: Optional[float] = Field(3650.0, ge=1, description="null: keep rollups forever")
    prune_interval_s: float = Field(3600.0, ge=60, description="how often run prunes SQLite")


class StoreSettings(Strict):
    """Where metrics go: ``sqlite`` (embedded default) or ``influxdb``."""

    kind: Literal["sqlite", "influxdb"] = "sqlite"
    sqlite: SqliteSettings = SqliteSettings()
    influxdb: InfluxSettings = InfluxSettings()
    retention: RetentionSettings = RetentionSettings()


class StateSettings(Strict):
    """Outage log, alerts and other state (SQLAlchemy URL), and the service's files."""

    url: str = Field("sqlite:///var/state.sqlite", repr=False)  # may hold a password
    dir: str = Field("var", description="spool, dead letters and runtime status file")


class SpoolSettings(Strict):
    """Where samples wait while the metric store is down or slow (``state.dir/spool``).

    Past ``max_mb`` the oldest spooled samples are dropped first, counted and
    flagged (docs/operations.md): a defined loss instead of a full disk."""

    max_mb: float = Field(1024.0, gt=0, description="spool cap on disk, MB")
    max_buffer_samples: int = Field(200_000, ge=1000, description="samples kept in memory "
                                    "before they spill to the spool")


class TlsSettings(Strict):
    ca_file: Optional[str] = None
    cert_file: Optional[str] = None
    key_file: Optional[str] = None
    insecure: bool = False


class MqttSubscription(Strict):
    topic: str
    format: Literal["json", "collectd", "presence"] = "json"
    store_rates: bool = True  # collectd's StoreRates setting on the publisher


class MqttLimits(Strict):
    """Bounds against broken or hostile publishers (docs/operations.md). Whatever
    passes a bound is counted by reason, logged rate-limited and dead-lettered."""

    max_payload_bytes: int = Field(65536, ge=256, description="larger messages are rejected "
                                   "(too_large); the broker's max_packet_size should match")
    max_ifaces: int = Field(64, ge=1, description="interfaces per message and counter "
                            "baselines per device")
    max_radios: int = Field(8, ge=1, description="client radios per message")
    max_unknown_devices: int = Field(10_000, ge=0, description="device ids not in the inventory "
                                     "remembered for `status` (more are counted, not kept)")
    baseline_ttl_days: float = Field(7.0, gt=0, description="counter baselines of series "
                                     "silent this long are forgotten")
    device_rate_per_s: float = Field(1.0, gt=0, description="sustained messages per second "
                                     "per device (token bucket)")
    device_burst: int = Field(600, ge=1, description="messages a device may send at once (a "
                              "backlog queued by the broker while the collector was away)")


class MqttSettings(Strict):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: Optional[str] = None
    password: Optional[SecretStr] = None
    client_id: str = "hotspot-monitor"
    qos: int = Field(1, ge=0, le=2)
    protocol: Literal["3.1.1", "5"] = "5"
    shared_group: Optional[str] = None
    topic_prefix: str = "hotspot"
    keepalive_s: int = Field(30, ge=5)
    heartbeat_timeout_s: float = Field(300.0, gt=0)
    tls: Optional[TlsSettings] = None
    limits: MqttLimits = MqttLimits()
    subscriptions: list[MqttSubscription] = Field(
        default_factory=lambda: [
            MqttSubscription(topic="hotspot/+/+/telemetry", format="json"),
            MqttSubscription(topic="hotspot/+/+/status", format="presence"),
        ]
    )


AuthProtocol = Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
PrivProtocol = Literal["DES", "AES", "AES128", "AES192", "AES256"]


class SnmpCredentials(Strict):
    """v1/v2c community, or v3 USM user with optional auth and priv."""

    version: Literal["1", "2c", "3"] = "2c"
    community: Optional[SecretStr] = None
    user: Optional[str] = None
    auth_protocol: Optional[AuthProtocol] = None
    auth_key: Optional[SecretStr] = None
    priv_protocol: Optional[PrivProtocol] = None
    priv_key: Optional[SecretStr] = None
    context: str = ""

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v: object) -> object:
        # YAML reads `version: 2` or `version: 3` as an int; accept those.
        if isinstance(v, int) and not isinstance(v, bool) and v in (1, 2, 3):
            return {1: "1", 2: "2c", 3: "3"}[v]
        if v in ("v1", "v2c", "v3"):
            return str(v)[1:]
        return v

    @property
    def security_level(self) -> str:
        if self.version != "3":
            return "community"
        if self.priv_protocol:
            return "authPriv"
        if self.auth_protocol:
            return "authNoPriv"
        return "noAuthNoPriv"


class CollectorSettings(Strict):
    interval_s: float = Field(60.0, gt=0)
    timeout_s: float = Field(2.0, gt=0)
    retries: int = Field(1, ge=0, le=10)
    concurrency: int = Field(100, ge=1, le=5000)
    max_gap_s: float = Field(900.0, gt=0, description="no rate across a longer gap")
    max_walk_s: float = Field(20.0, gt=0, description="time budget for all table walks of one "
                              "poll: an agent with an endless or very slow table is cut there "
                              "(bad.walk_time_exceeded) and the poll keeps what it has")
    down_after: int = Field(3, ge=1, description="failed polls before an AP is down")
    default_link_mbps: float = Field(
        100.0, gt=0, description="what an interface carries when neither it nor its site "
        "(backhaul_mbps) says: bounds 32-bit counter wraps (docs/snmp.md)")
    flap_transitions: int = Field(6, ge=2)
    flap_window_s: float = Field(3600.0, gt=0)
    shard: Optional[str] = Field(None, pattern=r"^\d+/\d+$", description="i/n, 0 <= i < n")
    shard_heartbeat_s: float = Field(
        5.0, gt=0, description="how often a shard writes its heartbeat and the leader checks the "
        "others (also the service's housekeeping pass)")
    shard_timeout_s: float = Field(
        30.0, gt=0, description="a shard whose heartbeat is older than this is down: its APs "
        "become unmonitored and monitor_unhealthy fires (docs/scaling.md)")
    engine: Literal["gufo", "pysnmp"] = Field(
        "gufo", description="SNMP library: gufo (gufo_snmp, fast) or pysnmp (pure Python, "
        "for platforms without a gufo_snmp wheel); docs/snmp.md")

    @field_validator("shard")
    @classmethod
    def _shard(cls, v: Optional[str]) -> Optional[str]:
        if v is not None:
            i, n = (int(x) for x in v.split("/"))
            if n < 1 or not 0 <= i < n:
                raise ValueError("shard must be i/n with n >= 1 and 0 <= i < n")
        return v

    @field_validator("shard_timeout_s")
    @classmethod
    def _shard_timeout(cls, v: float, info) -> float:
        beat = info.data.get("shard_heartbeat_s", 5.0)
        if v < 2 * beat:
            raise ValueError(f"must be at least twice shard_heartbeat_s ({beat:g} s), or a late "
                             "heartbeat takes a live shard for dead")
        return v
    snmp: SnmpCredentials = SnmpCredentials()


class ServiceHours(Strict):
    """Per weekday opening hours, each ``HH:MM-HH:MM`` (end may pass midnight)."""

    mon: Optional[str] = None
    tue: Optional[str] = None
    wed: Optional[str] = None
    thu: Optional[str] = None
    fri: Optional[str] = None
    sat: Optional[str] = None
    sun: Optional[str] = None

    @field_validator(*WEEKDAYS)
    @classmethod
    def _hours(cls, v: Optional[str]) -> Optional[str]:
        if v is None or v.strip().lower() in ("closed", "off"):
            return None if v is None else "closed"
        parse_hours(v)
        return v

    def window(self, weekday: int) -> Optional[tuple[time, time]]:
        """Opening window for ``weekday`` (0 = Monday), or None when closed all day."""
        v = getattr(self, WEEKDAYS[weekday])
        if v is None or v == "closed":
            return None
        return parse_hours(v)


def parse_hours(v: str) -> tuple[time, time]:
    m = HOURS_RE.match(v)
    if not m:
        raise ValueError("service hours must look like 06:00-22:00")
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError("service hours must look like 06:00-22:00")
    end = time(0, 0) if h2 == 24 else time(h2, m2)
    return time(h1, m1), end


class Site(Strict):
    id: str = Field(pattern=ID_RE)
    name: str
    kind: Literal["park", "square", "market", "street", "campus", "stadium",
                  "terminal", "office", "heritage", "other"] = "other"
    district: Optional[str] = None
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    service_hours: Optional[ServiceHours] = None
    backhaul_mbps: Optional[float] = Field(None, gt=0)
    public: bool = Field(True, description="shown on the public status page (/status) and open to "
                         "citizens' problem reports")

    @field_validator("service_hours", mode="before")
    @classmethod
    def _every_day(cls, v: object) -> object:
        # A single "06:00-22:00" means the same hours every day.
        if isinstance(v, str):
            return {d: v for d in WEEKDAYS}
        return v


class SnmpDevice(Strict):
    """Fields shared by APs and controllers that are polled over SNMP."""

    id: str = Field(pattern=ID_RE)
    host: Optional[str] = None
    port: int = Field(161, ge=1, le=65535)
    profile: str = "auto"
    snmp: Optional[SnmpCredentials] = None
    interval_s: Optional[float] = Field(None, gt=0)
    timeout_s: Optional[float] = Field(None, gt=0)
    retries: Optional[int] = Field(None, ge=0, le=10)


class AccessPoint(SnmpDevice):
    site: str
    name: Optional[str] = None
    mac: Optional[str] = Field(None, pattern=r"^[0-9A-Fa-f]{2}([:-]?[0-9A-Fa-f]{2}){5}$")
    mqtt_id: Optional[str] = None
    controller: Optional[str] = None
    lat: Optional[float] = Field(None, ge=-90, le=90)
    lon: Optional[float] = Field(None, ge=-180, le=180)

    metrics_from: Optional[Literal["snmp", "mqtt"]] = Field(
        None, description="which source's traffic/clients/system metrics count "
        "(default: snmp when the AP has a host or a controller, else mqtt); the other source still "
        "reports status, so an AP seen by both never has its bytes counted twice")

    @property
    def label(self) -> str:
        return self.name or self.id

    @property
    def metrics_source(self) -> str:
        return self.metrics_from or ("snmp" if self.host or self.controller else "mqtt")


class Controller(SnmpDevice):
    """A WLC / virtual controller: polled once, yields Samples for many APs."""

    host: str
    site: Optional[str] = None
    name: Optional[str] = None


class WebSettings(Strict):
    """The dashboard (``hotspot-monitor web``, or inside ``run`` when ``enabled``)."""

    enabled: bool = False
    listen: str = Field("127.0.0.1:8080", pattern=r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$")
    locale: Literal["id", "en"] = "en"
    secret_key: Optional[SecretStr] = None  # default: generated once in state.dir
    secure_cookies: bool = False  # true when served over HTTPS (behind a TLS proxy)
    trusted_proxies: int = Field(0, ge=0, le=5, description="X-Forwarded-* hops to trust")
    threads: int = Field(8, ge=1, le=64)
    sla_target_pct: float = Field(95.0, gt=0, le=100)
    stale_after_s: Optional[float] = Field(None, gt=0, description="default: 3 poll intervals")
    refresh_s: float = Field(15.0, ge=1, le=600, description="how often open pages refresh")
    tile_url: Optional[str] = Field(None, pattern=r"^https?://")  # e.g. OpenStreetMap tiles
    tile_attribution: str = "© OpenStreetMap contributors"
    login_attempts: int = Field(5, ge=1, description="wrong passwords before a lockout")
    lockout_s: float = Field(300.0, gt=0)


class ReportSmtp(SmtpServer):
    """A partner's own SMTP server for its monthly report (instead of an alert channel)."""

    timeout_s: float = Field(30.0, gt=0, le=300)


class ReportSchedule(Strict):
    """When ``run`` e-mails the previous month's report: the 1st of each month at ``at``
    (local time). A claim not finished within ``claim_timeout_s`` (the process died) is
    taken over; temporary failures are retried after ``retry_after_s``, doubling."""

    enabled: bool = True
    at: str = Field("06:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    claim_timeout_s: float = Field(900.0, gt=0)
    retry_after_s: float = Field(300.0, gt=0)
    max_attempts: int = Field(10, ge=1, le=100)


REPORT_EXCLUSIONS = ("maintenance", "outside_service_hours", "power_cut")


class PartnerReport(Strict):
    """The accounting rules both sides agreed on (printed on the report's first page),
    and how the monthly report is delivered. docs/report.md defines every figure."""

    sla_target_pct: Optional[float] = Field(None, gt=0, le=100, description="default: web.sla_target_pct")
    min_outage_s: float = Field(300.0, ge=0, description="shorter outages are listed, not counted")
    exclude: list[Literal["maintenance", "outside_service_hours", "power_cut"]] = Field(
        default_factory=lambda: ["maintenance", "outside_service_hours"])
    language: Literal["id", "en"] = "id"
    formats: list[Literal["pdf", "xlsx", "csv", "html"]] = Field(
        default_factory=lambda: ["pdf", "xlsx"], min_length=1, description="attached to the e-mail")
    channel: Optional[str] = Field(None, description="an email channel of alerts.channels")
    smtp: Optional[ReportSmtp] = None
    schedule: ReportSchedule = ReportSchedule()


class Partner(Strict):
    """The telecom partner (or another party) that sees only its own sites."""

    id: str = Field(pattern=ID_RE)
    name: str
    sites: Union[Literal["all"], list[str]] = Field(default_factory=list)
    contacts: list[str] = Field(default_factory=list)
    report: PartnerReport = PartnerReport()

    def covers(self, site_id: str) -> bool:
        return self.sites == "all" or site_id in self.sites


CONFIG_VERSION = 1  # the config format this code reads (docs/hardening.md, "Upgrades")


class Config(Strict):
    version: Optional[int] = Field(None, description="config format version; optional, "
                                   f"{CONFIG_VERSION} if given")
    city: Optional[str] = Field(None, description="the city's name, on the monthly report")
    timezone: str = "UTC"
    store: StoreSettings = StoreSettings()
    state: StateSettings = StateSettings()
    spool: SpoolSettings = SpoolSettings()
    mqtt: MqttSettings = MqttSettings()
    collector: CollectorSettings = CollectorSettings()
    sites: list[Site] = Field(default_factory=list)
    aps: list[AccessPoint] = Field(default_factory=list)
    controllers: list[Controller] = Field(default_factory=list)
    alerts: AlertsSettings = AlertsSettings()
    web: WebSettings = WebSettings()
    partners: list[Partner] = Field(default_factory=list)
    citizens: CitizensSettings = CitizensSettings()

    @field_validator("version")
    @classmethod
    def _version(cls, v: Optional[int]) -> Optional[int]:
        if v is not None and v != CONFIG_VERSION:
            raise ValueError(f"this hotspot-monitor reads config version {CONFIG_VERSION}, "
                             f"not {v}: see docs/hardening.md (upgrades)")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory, a long name
            raise ValueError(f"unknown IANA time zone {v[:100]!r}") from None
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def site(self, site_id: str) -> Site:
        return self._sites_by_id()[site_id]

    def _sites_by_id(self) -> dict[str, Site]:
        return {s.id: s for s in self.sites}

    def credentials(self, dev: SnmpDevice) -> SnmpCredentials:
        """The device's SNMP credentials, falling back to ``collector.snmp``."""
        return dev.snmp or self.collector.snmp


def semantic_errors(data: dict) -> list[tuple[tuple, str]]:
    """Cross-entry checks pydantic cannot express; (path, message) pairs.

    Works on the raw mapping (tolerating wrong shapes, which pydantic reports)
    so that one run of ``check-config`` lists every problem at once.
    """
    errs: list[tuple[tuple, str]] = []

    def entries(kind: str) -> list[tuple[int, dict]]:
        items = data.get(kind)
        if not isinstance(items, list):
            return []
        # values of the wrong type (a list or a mapping where an id belongs) are
        # pydantic's to report; here they are left out, so the checks below can hash
        # them (mappings only where one belongs: service hours, SNMP credentials)
        return [(i, {k: v for k, v in it.items() if isinstance(v, (str, int, float, bool))
                     or v is None or (isinstance(v, dict) and k in _MAPPING_KEYS)})
                for i, it in enumerate(items) if isinstance(it, dict)]

    def ids(kind: str) -> set:
        seen: set = set()
        for i, it in entries(kind):
            if "id" not in it:
                continue
            if it["id"] in seen:
                errs.append(((kind, i, "id"), f"duplicate id {it['id']!r}"))
            seen.add(it["id"])
        return seen

    site_ids, ap_ids, ctrl_ids = ids("sites"), ids("aps"), ids("controllers")
    ids("partners")
    for i, it in enumerate(data.get("partners") if isinstance(data.get("partners"), list) else []):
        if not isinstance(it, dict):
            continue
        sites = it.get("sites")
        for j, sid in enumerate(sites if isinstance(sites, list) else []):
            if isinstance(sid, str) and sid not in site_ids:
                errs.append((("partners", i, "sites", j), f"unknown site {sid!r}"))
        errs += _partner_report_errors(data, i, it)
    for i, c in entries("controllers"):
        if c.get("id") in ap_ids:
            errs.append((("controllers", i, "id"), f"id {c['id']!r} is also an AP id"))
        if c.get("site") is not None and c.get("site") not in site_ids:
            errs.append((("controllers", i, "site"), f"unknown site {c['site']!r}"))
    for i, site in entries("sites"):
        hours = site.get("service_hours")
        if isinstance(hours, dict):
            # a day left out would silently be closed: make the operator say so
            missing = [d for d in WEEKDAYS if d not in hours]
            if missing:
                errs.append((("sites", i, "service_hours"),
                             f"no hours for {', '.join(missing)}: give HH:MM-HH:MM or closed "
                             f"for every weekday (or one HH:MM-HH:MM for all days)"))
    mqtt_ids: set = set()
    for i, ap in entries("aps"):
        if "site" in ap and ap["site"] not in site_ids:
            errs.append((("aps", i, "site"), f"unknown site {ap['site']!r}"))
        if ap.get("controller") is not None and ap["controller"] not in ctrl_ids:
            errs.append((("aps", i, "controller"), f"unknown controller {ap['controller']!r}"))
        if ap.get("mqtt_id") is not None:
            if ap["mqtt_id"] in mqtt_ids:
                errs.append((("aps", i, "mqtt_id"), f"duplicate mqtt_id {ap['mqtt_id']!r}"))
            mqtt_ids.add(ap["mqtt_id"])
    alerts = data.get("alerts")
    if isinstance(alerts, dict):
        errs += alerts_errors(alerts, site_ids, ap_ids, ctrl_ids,
                              {it.get("district") for _, it in entries("sites")})
    errs += citizens_errors(data)
    collector = data.get("collector") if isinstance(data.get("collector"), dict) else {}
    default = collector.get("snmp") if isinstance(collector.get("snmp"), dict) else {}
    errs += _snmp_errors(("collector", "snmp"), default)
    errs += _retention_errors(data)
    for kind in ("aps", "controllers"):
        for i, dev in entries(kind):
            own = dev.get("snmp")
            if isinstance(own, dict):
                errs += _snmp_errors((kind, i, "snmp"), own)
            cred = own if isinstance(own, dict) else default
            if dev.get("host") and _version(cred) != "3" and cred.get("community") is None:
                where = (kind, i, "snmp") if isinstance(own, dict) else (kind, i, "host")
                errs.append((where, "no SNMP community here nor in collector.snmp"))
    return errs


def _partner_report_errors(data: dict, i: int, partner: object) -> list[tuple[tuple, str]]:
    """A partner's report names an existing e-mail channel, or has SMTP settings of its own."""
    rep = partner.get("report") if isinstance(partner, dict) else None
    if not isinstance(rep, dict):
        return []
    errs: list[tuple[tuple, str]] = []
    where = ("partners", i, "report")
    if rep.get("channel") is not None and rep.get("smtp") is not None:
        errs.append((where + ("smtp",), "give either channel or smtp, not both"))
    if isinstance(rep.get("channel"), str):
        alerts = data.get("alerts") if isinstance(data.get("alerts"), dict) else {}
        chans = alerts.get("channels") if isinstance(alerts.get("channels"), list) else []
        types = {c.get("id"): c.get("type") for c in chans
                 if isinstance(c, dict) and isinstance(c.get("id"), str)}
        if rep["channel"] not in types:
            errs.append((where + ("channel",), f"unknown channel {rep['channel']!r} (alerts.channels)"))
        elif types[rep["channel"]] != "email":
            errs.append((where + ("channel",), f"channel {rep['channel']!r} is not an email channel"))
    sched = rep.get("schedule") if isinstance(rep.get("schedule"), dict) else {}
    sends = rep.get("channel") is not None or rep.get("smtp") is not None
    if sends and sched.get("enabled", True) and not partner.get("contacts"):  # type: ignore[union-attr]
        errs.append((("partners", i, "contacts"), "the monthly report is e-mailed to the contacts: "
                     "give at least one address"))
    return errs


_MAPPING_KEYS = frozenset({"service_hours", "snmp", "report"})


def _retention_errors(data: dict) -> list[tuple[tuple, str]]:
    """Raw points and rollups in two InfluxDB RPs: both named, and not the same one."""
    store = data.get("store") if isinstance(data.get("store"), dict) else {}
    influx = store.get("influxdb") if isinstance(store.get("influxdb"), dict) else {}
    raw, rolled = influx.get("retention_policy"), influx.get("rollup_retention_policy")
    where = ("store", "influxdb")
    errs: list[tuple[tuple, str]] = []
    if influx.get("manage_retention") is True:
        for key in ("retention_policy", "rollup_retention_policy"):
            if not influx.get(key):
                errs.append((where + (key,), "manage_retention needs both retention_policy "
                             "and rollup_retention_policy (two RPs, docs/retention.md)"))
    if rolled is not None and not raw:
        errs.append((where + ("rollup_retention_policy",), "set retention_policy (the raw RP) too"))
    ret = store.get("retention") if isinstance(store.get("retention"), dict) else {}
    raw_days, roll_days = ret.get("raw_days", 35.0), ret.get("rollup_days", 3650.0)
    if (isinstance(raw_days, (int, float)) and isinstance(roll_days, (int, float))
            and not isinstance(raw_days, bool) and not isinstance(roll_days, bool)
            and roll_days < raw_days):
        errs.append((("store", "retention", "rollup_days"), "must be at least raw_days "
                     "(rollups are what is left of the raw points)"))
    elif roll_days is not None and raw_days is None:
        errs.append((("store", "retention", "rollup_days"), "raw points are kept forever "
                     "(raw_days: null): set rollup_days: null too"))
    if isinstance(raw, str) and raw and raw == rolled:
        errs.append((where + ("rollup_retention_policy",),
                     "must differ from retention_policy: raw points and rollups are kept "
                     "for different times"))
    return errs


def _version(c: dict) -> str:
    return str(SnmpCredentials._version_text(c.get("version", "2c")))


def _snmp_errors(path: tuple, c: dict) -> list[tuple[tuple, str]]:
    errs: list[tuple[tuple, str]] = []
    if _version(c) == "3":
        if not c.get("user"):
            errs.append((path + ("user",), "SNMPv3 needs a user"))
        for proto, key in (("auth_protocol", "auth_key"), ("priv_protocol", "priv_key")):
            if c.get(proto) is None:
                if c.get(key) is not None:
                    errs.append((path + (key,), f"{key} is set but {proto} is not"))
                continue
            secret = c.get(key)
            if secret is None or secret == "":
                errs.append((path + (key,), f"{proto} {c[proto]} needs {key}"))
            elif isinstance(secret, str) and len(secret) < 8:
                errs.append((path + (key,), f"{key} must be at least 8 characters (SNMPv3 USM)"))
        if c.get("priv_protocol") and not c.get("auth_protocol"):
            errs.append((path + ("priv_protocol",), "privacy needs an auth_protocol too"))
        if c.get("community") is not None:
            errs.append((path + ("community",), "community is for SNMP v1/v2c, not v3"))
    elif c.get("user") is not None or c.get("auth_protocol") or c.get("priv_protocol"):
        errs.append((path + ("version",), "user/auth/priv need version 3"))
    return errs
