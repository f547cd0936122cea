"""A profile's requests, worked out once per profile (not once per poll).

Tables no role, interface rule, client source or controller rule reads are
never walked (``extends: generic`` brings hrStorage to vendors whose memory
comes from their own scalars). Besides the OIDs to GET and the columns to
walk, the plan knows which tables only serve as a *later alternative* of a role: the generic profile
reads memory from UCD-SNMP-MIB scalars and walks hrStorage only when those
are absent. After the scalar GET such a table is walked only if an earlier
alternative left its role without a value (``needed``), so a net-snmp agent
costs no hrStorage walk at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .profile import Profile, ValueSpec
from .readings import DeviceData, Extractor

ROLES = ("uptime", "cpu", "mem", "temp", "clients_total")


@dataclass(frozen=True)
class TablePlan:
    name: str
    columns: list[str]  # column OIDs, in profile order
    max_rows: int
    slow: list[str]  # columns read with the full re-check only (values reused in between)


@dataclass(frozen=True)
class _Fallback:
    """A table used by ``specs[position]`` of a role: needed only while ``specs[:position]`` give nothing."""

    specs: tuple[ValueSpec, ...]
    position: int


def _tables_of(vs: ValueSpec) -> set[str]:
    refs = [vs.mean, vs.sum, *(vs.used_of or {}).values()]
    out = {r.split(".", 1)[0] for r in refs if r and "." in r}
    if vs.hr_storage_ram:
        out.add(vs.hr_storage_ram)
    return out


@dataclass
class Plan:
    profile: Profile
    extractor: Extractor = field(init=False)
    scalar_names: list[str] = field(init=False)
    scalar_oids: list[str] = field(init=False)
    tables: list[TablePlan] = field(init=False)
    fallback: dict[str, str] = field(init=False)  # column oid -> the column it stands in for
    _only_fallback: dict[str, list[_Fallback]] = field(init=False)
    _always: set[str] = field(init=False)  # tables read whatever the scalars say

    def __post_init__(self) -> None:
        p = self.profile
        self.extractor = Extractor(p)
        self.scalar_names = list(p.scalars)
        self.scalar_oids = [p.scalars[n].oid for n in self.scalar_names]
        self.fallback = {c.oid: tb.columns[c.fallback_for].oid
                         for tb in p.tables.values() for c in tb.columns.values() if c.fallback_for}
        self._only_fallback = self._fallback_tables()
        read = self._always | set(self._only_fallback)
        self.tables = [TablePlan(t, [c.oid for c in tb.columns.values()], tb.max_rows,
                                 [c.oid for c in tb.columns.values() if c.slow])
                       for t, tb in p.tables.items() if t in read]

    def _fallback_tables(self) -> dict[str, list[_Fallback]]:
        p = self.profile
        always: set[str] = set()  # tables some non-role part reads
        if p.interfaces:
            always.add(p.interfaces.table)
        always |= {cs.table for cs in p.clients if cs.table}
        uses: dict[str, list[_Fallback]] = {}
        groups = [tuple(getattr(p, r)) for r in ROLES]
        if p.controller:
            if p.controller.aps:
                always.add(p.controller.aps.table)
            groups += [tuple(p.controller.aps_total), tuple(p.controller.aps_up)]
        for specs in groups:
            for i, vs in enumerate(specs):
                for t in _tables_of(vs):
                    if i == 0 or any(_tables_of(e) for e in specs[:i]):
                        always.add(t)  # no scalar-only alternative before it
                    uses.setdefault(t, []).append(_Fallback(specs, i))
        self._always = always
        return {t: u for t, u in uses.items() if t not in always}

    def needed(self, table: str, scalars: DeviceData) -> bool:
        """False when every role this table serves already has a value from the scalars."""
        uses = self._only_fallback.get(table)
        if uses is None:
            return True
        return any(self.extractor.value(scalars, list(u.specs[:u.position])) is None for u in uses)
