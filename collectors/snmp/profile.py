"""Vendor profiles: YAML data files describing what to fetch and what it means.

A profile names numeric OIDs (each commented with its MIB object in the YAML),
groups them into scalars (one GET) and tables (GETBULK walks of a few columns),
and maps them onto our schema through a handful of *roles* (uptime, clients,
system, interfaces, controller). MIB names are resolved when a profile is
written, never at run time. ``extends: generic`` deep-merges the parent first
(mappings merge key by key, lists and scalars are replaced).

The loader validates every file with pydantic and reports
``profiles/<file>.yaml: path.to.field: message`` so a typo in a profile is a
start-up error, not a silent gap in the data.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
OID_RE = re.compile(r"^\d+(\.\d+)+$")
BANDS = ("2.4GHz", "5GHz", "6GHz")


class ProfileError(ValueError):
    """A profile file is missing, malformed or inconsistent."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _oid(v: str) -> str:
    v = str(v).strip().lstrip(".")
    if not OID_RE.match(v):
        raise ValueError(f"not a numeric OID: {v!r}")
    return v


ValueType = Literal["number", "counter", "ticks", "string", "mac", "oid"]
# The SMI syntax the MIB gives an object: what the agent puts on the wire.
# Engines that hand back bare Python values (gufo: int/bytes/str) take the
# wire type from here, as snmp_exporter takes it from its generated snmp.yml.
Syntax = Literal["Integer32", "Gauge32", "Unsigned32", "Counter32", "Counter64", "TimeTicks",
                 "OctetString", "ObjectIdentifier", "IpAddress"]
DEFAULT_SYNTAX: dict[str, Syntax] = {"number": "Integer32", "ticks": "TimeTicks",
                                     "string": "OctetString", "mac": "OctetString",
                                     "oid": "ObjectIdentifier"}  # counter: say Counter32 or Counter64


class Column(_Strict):
    """One OID and how to read it. ``type: number`` reads any integer type
    (a vendor's Counter32 client count stays a level) and numeric strings."""

    oid: str
    type: ValueType = "number"
    scale: float = 1.0
    fallback_for: Optional[str] = None  # table columns: only fetched while that column is empty
    # table columns: a setting rather than a measurement (interface speed): read on
    # every 10th poll with the full re-check, the last value reused in between
    slow: bool = False
    syntax: Optional[Syntax] = None  # the MIB's; default from ``type`` (number: Integer32)

    _v = field_validator("oid", mode="before")(lambda cls, v: _oid(v))

    @model_validator(mode="after")
    def _syntax(self) -> "Column":
        if self.type == "counter" and self.syntax not in ("Counter32", "Counter64"):
            raise ValueError("a counter column needs syntax: Counter32 or Counter64 (its MIB type)")
        return self

    @property
    def wire_syntax(self) -> Syntax:
        """The syntax given, else the one ``type`` implies."""
        return self.syntax or DEFAULT_SYNTAX[self.type]


class Table(_Strict):
    columns: dict[str, Column]
    max_rows: int = Field(20000, ge=1)

    @model_validator(mode="after")
    def _fallbacks(self) -> "Table":
        for name, c in self.columns.items():
            if c.fallback_for is not None and c.fallback_for not in self.columns:
                raise ValueError(f"column {name}: fallback_for names unknown column {c.fallback_for!r}")
        return self


ENTERPRISES = "1.3.6.1.4.1"


class Detect(_Strict):
    """All given criteria must hold; within a list any entry may match.

    ``signature`` is the second chance for firmware whose sysObjectID /
    sysDescr name no family (a generic net-snmp Linux id, an OEM's
    enterprise number): subtrees (tables or columns) only this family has.
    They are asked with one GETNEXT per device, only when nothing else
    matched; a profile whose signature subtree holds an instance wins.
    """

    sys_object_id: list[str] = Field(default_factory=list)  # prefixes
    sys_descr: Optional[str] = None  # regex (search)
    probe: list[str] = Field(default_factory=list)  # exact instances that must exist
    signature: list[str] = Field(default_factory=list)  # vendor subtrees (GETNEXT lands inside)
    priority: int = 50

    @field_validator("sys_object_id", "probe", "signature", mode="before")
    @classmethod
    def _oids(cls, v: object) -> object:
        return [_oid(x) for x in v] if isinstance(v, list) else v

    @field_validator("signature")
    @classmethod
    def _vendor_subtrees(cls, v: list[str]) -> list[str]:
        # a standard MIB (IF-MIB, HOST-RESOURCES...) answers on every agent
        for o in v:
            if not o.startswith(ENTERPRISES + ".") or len(o.split(".")) < 8:
                raise ValueError(f"signature {o} must be a subtree inside one vendor's "
                                 f"enterprise branch ({ENTERPRISES}.<vendor>.<...>)")
        return v

    @field_validator("sys_descr")
    @classmethod
    def _regex(cls, v: Optional[str]) -> Optional[str]:
        if v is not None:
            re.compile(v)
        return v


class ValueSpec(_Strict):
    """One way to compute a number; roles list alternatives, first hit wins.

    Exactly one of: ``scalar`` (a scalar name), ``mean``/``sum`` (``table.column``),
    ``used_of`` (``{total, used}`` or ``{total, free}`` refs -> percent used),
    ``hr_storage_ram`` (a table with type/size/used columns: the RAM row).
    """

    scalar: Optional[str] = None
    mean: Optional[str] = None
    sum: Optional[str] = None
    used_of: Optional[dict[Literal["total", "used", "free"], str]] = None
    hr_storage_ram: Optional[str] = None
    scale: float = 1.0

    @model_validator(mode="after")
    def _one(self) -> "ValueSpec":
        given = [k for k in ("scalar", "mean", "sum", "used_of", "hr_storage_ram")
                 if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of scalar, mean, sum, used_of, hr_storage_ram")
        if self.used_of is not None and ("total" not in self.used_of
                                         or len(self.used_of) != 2):
            raise ValueError("used_of needs total and one of used/free")
        return self


class BandSpec(_Strict):
    """How a row's radio band is known: a band string, an enum or MHz.

    ``column`` is read from the same row, or with ``lookup`` from the row of
    the same table whose string index is the template filled with the
    ``match`` groups (OpenWrt: ``frequency-{radio}``). ``kind``: ``map``
    (value -> band via ``map``), ``mhz`` (frequency), ``channel`` (1-14 = 2.4GHz,
    otherwise 5GHz; leading digits of strings like ``116E``).
    """

    column: str
    lookup: Optional[str] = None
    kind: Literal["map", "mhz", "channel"] = "map"
    map: dict[str, Literal["2.4GHz", "5GHz", "6GHz"]] = Field(default_factory=dict)

    @field_validator("map", mode="before")
    @classmethod
    def _keys(cls, v: object) -> object:
        return {str(k): val for k, val in v.items()} if isinstance(v, dict) else v


class ClientSource(_Strict):
    """Clients: a scalar total, or a table column summed per band (and per AP)."""

    scalar: Optional[str] = None
    table: Optional[str] = None
    value: Optional[str] = None
    match: Optional[str] = None  # regex on the string index; rows not matching are skipped
    band: Optional[BandSpec] = None
    ap_index: Optional[int] = Field(None, ge=1, description="leading index sub-ids naming the AP")

    @model_validator(mode="after")
    def _shape(self) -> "ClientSource":
        if (self.scalar is None) == (self.table is None):
            raise ValueError("give either scalar or table (+ value)")
        if self.table is not None and self.value is None:
            raise ValueError("a table client source needs value: <column>")
        if self.match is not None:
            re.compile(self.match)
        return self


class Interfaces(_Strict):
    """Which ifTable rows make ``ap_traffic``, and the columns to read."""

    table: str = "ifTable"
    name: str = "name"
    descr: Optional[str] = "descr"
    type: Optional[str] = "type"
    oper: Optional[str] = "oper"
    in64: Optional[str] = "in64"
    out64: Optional[str] = "out64"
    in32: Optional[str] = "in32"
    out32: Optional[str] = "out32"
    high_speed: Optional[str] = None    # ifHighSpeed (Mbit/s)
    speed: Optional[str] = None         # ifSpeed (bit/s, 4294967295 = see ifHighSpeed)
    discontinuity: Optional[str] = None  # ifCounterDiscontinuityTime (ticks)
    exclude_types: list[int] = Field(default_factory=lambda: [24])  # softwareLoopback
    include_name: Optional[str] = None
    exclude_name: Optional[str] = None
    skip_down: bool = True

    @field_validator("include_name", "exclude_name")
    @classmethod
    def _regex(cls, v: Optional[str]) -> Optional[str]:
        if v is not None:
            re.compile(v)
        return v


class ApTable(_Strict):
    """A controller's table of managed APs, indexed by AP MAC (``mac6``)."""

    table: str
    index: Literal["mac6", "int"] = "mac6"
    name: Optional[str] = None
    mac: Optional[str] = None
    status: Optional[str] = None
    up_values: list[int | str] = Field(default_factory=lambda: [1])
    down_values: list[int | str] = Field(default_factory=list)  # if given: up unless listed
    uptime: Optional[str] = None  # ticks column
    cpu: Optional[str] = None
    mem_total: Optional[str] = None
    mem_free: Optional[str] = None
    mem_used: Optional[str] = None
    mem_pct: Optional[str] = None


class ControllerSpec(_Strict):
    aps: Optional[ApTable] = None
    aps_total: list[ValueSpec] = Field(default_factory=list)
    aps_up: list[ValueSpec] = Field(default_factory=list)


class Profile(_Strict):
    name: str
    description: str = ""
    extends: Optional[str] = None
    detect: Detect = Detect(priority=0)
    scalars: dict[str, Column] = Field(default_factory=dict)
    tables: dict[str, Table] = Field(default_factory=dict)
    uptime: list[ValueSpec] = Field(default_factory=list)
    clients: list[ClientSource] = Field(default_factory=list)
    clients_total: list[ValueSpec] = Field(default_factory=list)
    cpu: list[ValueSpec] = Field(default_factory=list)
    mem: list[ValueSpec] = Field(default_factory=list)
    temp: list[ValueSpec] = Field(default_factory=list)
    interfaces: Optional[Interfaces] = None
    controller: Optional[ControllerSpec] = None

    @model_validator(mode="after")
    def _refs(self) -> "Profile":
        """Every ``table.column`` and scalar a role names must exist."""
        problems: list[str] = []

        def col(ref: str, where: str) -> None:
            t, _, c = ref.partition(".")
            if t not in self.tables or c not in self.tables[t].columns:
                problems.append(f"{where}: unknown table column {ref!r}")

        def scal(ref: str, where: str) -> None:
            if ref not in self.scalars:
                problems.append(f"{where}: unknown scalar {ref!r}")

        def spec(vs: ValueSpec, where: str) -> None:
            if vs.scalar:
                scal(vs.scalar, where)
            for ref in (vs.mean, vs.sum):
                if ref:
                    col(ref, where)
            for ref in (vs.used_of or {}).values():
                (col if "." in ref else scal)(ref, where)
            if vs.hr_storage_ram:
                for c in ("type", "size", "used"):
                    col(f"{vs.hr_storage_ram}.{c}", where)

        for role in ("uptime", "clients_total", "cpu", "mem", "temp"):
            for i, vs in enumerate(getattr(self, role)):
                spec(vs, f"{role}.{i}")
        for i, cs in enumerate(self.clients):
            if cs.scalar:
                scal(cs.scalar, f"clients.{i}")
            else:
                col(f"{cs.table}.{cs.value}", f"clients.{i}")
                if cs.band:
                    col(f"{cs.table}.{cs.band.column}", f"clients.{i}.band")
        if self.interfaces:
            it = self.interfaces
            for f in ("name", "descr", "type", "oper", "in64", "out64", "in32", "out32",
                      "high_speed", "speed", "discontinuity"):
                c = getattr(it, f)
                if c is not None:
                    col(f"{it.table}.{c}", f"interfaces.{f}")
        if self.controller:
            for i, vs in enumerate(self.controller.aps_total + self.controller.aps_up):
                spec(vs, f"controller.aps.{i}")
            at = self.controller.aps
            if at:
                for f in ("name", "mac", "status", "uptime", "cpu", "mem_total", "mem_free", "mem_used",
                          "mem_pct"):
                    c = getattr(at, f)
                    if c is not None:
                        col(f"{at.table}.{c}", f"controller.aps.{f}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def is_controller(self) -> bool:
        return self.controller is not None


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ProfileError(f"{path.name}: cannot read: {e}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path.name}: a profile must be a mapping")
    return data


def load_profiles(directory: Path | str = PROFILE_DIR) -> dict[str, Profile]:
    """Load and validate every ``*.yaml`` profile in ``directory``."""
    directory = Path(directory)
    raw: dict[str, tuple[Path, dict]] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = _read(path)
        name = data.get("name", path.stem)
        if name != path.stem:
            raise ProfileError(f"{path.name}: name {name!r} must equal the file name {path.stem!r}")
        raw[name] = (path, data)

    def resolved(name: str, seen: tuple[str, ...] = ()) -> dict:
        path, data = raw[name]
        parent = data.get("extends")
        if parent is None:
            return data
        if parent in seen or parent == name:
            raise ProfileError(f"{path.name}: extends: cycle through {parent!r}")
        if parent not in raw:
            raise ProfileError(f"{path.name}: extends: unknown profile {parent!r}")
        base = {k: v for k, v in resolved(parent, seen + (name,)).items()
                if k not in ("name", "description", "detect", "extends")}
        return _merge(base, data)

    out: dict[str, Profile] = {}
    for name, (path, _) in raw.items():
        try:
            out[name] = Profile.model_validate(resolved(name))
        except ValidationError as e:
            msgs = []
            for err in e.errors():
                loc = ".".join(str(x) for x in err["loc"]) or "(profile)"
                msgs.append(f"{path.name}: {loc}: {err['msg']}")
            raise ProfileError("\n".join(msgs)) from None
    if "generic" not in out:
        raise ProfileError(f"{directory}: no generic.yaml profile")
    _check_signatures(out)
    return out


def _check_signatures(profiles: dict[str, Profile]) -> None:
    """Two families must never claim one subtree: detection would then depend
    on priorities instead of on what the device has."""
    owners: list[tuple[str, str]] = []
    for name, p in sorted(profiles.items()):
        if p.detect.signature and name == "generic":
            raise ProfileError("generic.yaml: detect.signature: the fallback profile needs none")
        for o in p.detect.signature:
            for other, oo in owners:
                if other != name and (o == oo or o.startswith(oo + ".") or oo.startswith(o + ".")):
                    raise ProfileError(f"{name}.yaml: detect.signature: {o} overlaps "
                                       f"{other}.yaml's {oo}")
            owners.append((name, o))


@lru_cache(maxsize=1)
def builtin_profiles() -> dict[str, Profile]:
    """The profiles shipped in ``collectors/snmp/profiles`` (loaded once)."""
    return load_profiles(PROFILE_DIR)
