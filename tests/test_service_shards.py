"""Two `run --shard i/2` processes on one PostgreSQL state store and one influxd.

Real processes throughout: PostgreSQL, influxd, Mosquitto, the fleet simulator
(SNMP agents + MQTT publishers) and two `hotspot-monitor run` children. Each
shard polls (SNMP) or subscribes to (MQTT) its own half of the fleet. The
leader is killed with SIGKILL: its APs become unmonitored (unknown, reason
shard_down; their coverage ends at their last observation; no outage), the
surviving shard takes the leadership and raises monitor_unhealthy, and its own
APs' data keep arriving in InfluxDB. The killed shard is then started again:
its APs are back up without a phantom outage and the alert resolves.

Which shard owns which AP is computed by hand below (sha1 of the AP id, mod 2,
docs/scaling.md), never by the code under test.
"""
import json
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hotspot_monitor.alerts.manager import AlertManager
from hotspot_monitor.commands.demo import write_config
from hotspot_monitor.commands.status import collect
from hotspot_monitor.config import parse_config
from hotspot_monitor.simulator import Rates, Simulator
from hotspot_monitor.simulator.background import BackgroundSimulator
from hotspot_monitor.status.availability import availability
from hotspot_monitor.status.statestore import StateStore
from services.postgres import PASSWORD, postgres  # noqa: F401  (fixture)

COMMUNITY = "shard-Community-7731"
# int(sha1(id).hexdigest(), 16) % 2, worked out once by hand for these ids
OWNER = {"a-1": 0, "b-1": 0, "m-1": 0, "a-2": 1, "b-2": 1, "m-6": 1}
SITE = {"a-1": "taman-a", "a-2": "taman-a", "m-1": "taman-a", "b-1": "pasar-b", "b-2": "pasar-b",
        "m-6": "pasar-b"}

INVENTORY = """
timezone: Asia/Jakarta
collector:
  interval_s: 1
  timeout_s: 0.4
  retries: 0
  down_after: 3
  shard_heartbeat_s: 1
  shard_timeout_s: 4
  snmp: {{version: 2c, community: {community}}}
mqtt:
  enabled: true
  port: {mqtt_port}
  client_id: shard-test
  heartbeat_timeout_s: 6
state:
  url: {state_url}
store:
  kind: influxdb
  influxdb: {{url: {influx_url}, database: {db}, flush_interval_s: 0.5}}
alerts:
  evaluate_every_s: 1
  rules:
    monitor_unhealthy: {{for: 1s}}
sites:
  - {{id: taman-a, name: Taman Balekambang, kind: park, lat: -7.5544, lon: 110.8046}}
  - {{id: pasar-b, name: Pasar Gedhé, kind: market, lat: -7.5683, lon: 110.8316}}
aps:
  - {{id: a-1, site: taman-a, host: 127.0.0.1, port: 1, profile: unifi}}
  - {{id: a-2, site: taman-a, host: 127.0.0.1, port: 1, profile: mikrotik}}
  - {{id: m-1, site: taman-a, mqtt_id: m-1}}
  - {{id: b-1, site: pasar-b, host: 127.0.0.1, port: 1, profile: generic}}
  - {{id: b-2, site: pasar-b, host: 127.0.0.1, port: 1, profile: unifi}}
  - {{id: m-6, site: pasar-b, mqtt_id: m-6}}
"""


def wait_for(pred, timeout, what, seen=None):
    """Poll ``pred`` until it returns something true; ``seen()`` describes the failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                         + (f": {seen()}" if seen else ""))


class Shard:
    """`hotspot-monitor run FILE --shard i/2` as a child process."""

    def __init__(self, index: int, cfg_path: Path, base: Path):
        self.index, self.key = index, f"{index}/2"
        self.cfg_path, self.base = cfg_path, base
        self.log = base / f"shard-{index}.log"
        self.proc = None

    def start(self) -> "Shard":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hotspot_monitor", "run", str(self.cfg_path), "--shard", self.key,
             "--base-dir", str(self.base), "--log-format", "json"],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        return self

    def runtime(self):
        p = self.base / "var" / f"shard-{self.index}-of-2" / "runtime.json"
        try:
            d = json.loads(p.read_text())
        except (OSError, ValueError):
            return None
        return d if d.get("pid") == self.proc.pid else None

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            rc = self.proc.wait(30)
            assert rc == 0, self.log.read_text()[-3000:]


def points_since(influxd, db: str, measurement: str, field: str, t: datetime) -> dict[str, int]:
    """Points per AP with time > t, straight from InfluxDB."""
    res = influxd.query(f'SELECT count("{field}") FROM "{measurement}" '
                        f"WHERE time > '{t.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}' GROUP BY \"ap\"", db)
    out = {}
    for s in res["results"][0].get("series", []):
        out[s["tags"]["ap"]] = s["values"][0][1]
    return out


def test_two_shards_kill_the_leader(postgres, influxd, mosquitto, tmp_path):  # noqa: F811
    t_begin = time.monotonic()
    state_url = postgres.new_database()
    db = influxd.new_database()
    text = INVENTORY.format(community=COMMUNITY, mqtt_port=mosquitto.port, state_url=state_url,
                            influx_url=influxd.url, db=db)
    sim = Simulator(parse_config(text, "shards.yaml"), seed=5, addressing="ports",
                    rates=Rates(reboot=0, outage=0, power_cut=0))
    bg = BackgroundSimulator(sim)
    bg.start()
    shards: list[Shard] = []
    try:
        cfg = sim.collector_config()
        # m-1 and m-6 only publish MQTT (the simulator would also answer SNMP for them)
        cfg = cfg.model_copy(update={"aps": [a.model_copy(update={"host": None}) if a.id.startswith("m-")
                                             else a for a in cfg.aps]})
        cfg_path = tmp_path / "config.yaml"
        write_config(cfg, cfg_path)
        shards = [Shard(i, cfg_path, tmp_path).start() for i in (0, 1)]

        def fleet():
            return collect(cfg, tmp_path, recent=0)

        # both shards running, one leader, every AP of both halves up
        def ready():
            rts = [s.runtime() for s in shards]
            if None in rts or sum(bool(r["leader"]) for r in rts) != 1:
                return None
            d = fleet()
            if {a["ap"]: a["state"] for a in d["aps"]} != {ap: "up" for ap in OWNER}:
                return None
            return rts

        rts = wait_for(ready, 45, "two shards, one leader, all six APs up",
                       lambda: ([s.runtime() for s in shards], fleet()["aps"]))
        for s, rt in zip(shards, rts):
            assert rt["shard"] == s.key
            assert rt["aps_owned"] == 3  # each half: two SNMP APs and one MQTT AP
            assert rt["snmp_round"] is None or rt["snmp_round"]["devices"] == 2
        # each shard's own collectors delivered its APs' data (MQTT included)
        since = datetime.now(timezone.utc) - timedelta(seconds=2)
        wait_for(lambda: set(points_since(influxd, db, "ap_status", "up", since)) == set(OWNER), 20,
                 "ap_status of all six APs in InfluxDB")
        # sites are judged across shards: each site has APs of both
        sites = {s["site"]: s for s in fleet()["sites"]}
        assert (sites["taman-a"]["up"], sites["pasar-b"]["up"]) == (3, 3)

        victim = next(s for s, rt in zip(shards, rts) if rt["leader"])
        survivor = next(s for s in shards if s is not victim)
        lost = sorted(ap for ap, i in OWNER.items() if i == victim.index)
        kept = sorted(ap for ap, i in OWNER.items() if i == survivor.index)

        victim.kill()
        t_kill = datetime.now(timezone.utc)

        # the survivor leads, the victim's APs are unmonitored (not down), an alert is raised
        def taken_over():
            rt = survivor.runtime()
            if not (rt and rt["leader"] and victim.key in rt.get("shards_down", {})):
                return None
            d = fleet()
            aps = {a["ap"]: (a["state"], a["reason"]) for a in d["aps"]}
            if any(aps[ap] != ("unknown", "shard_down") for ap in lost):
                return None
            return d

        d = wait_for(taken_over, 30, "the survivor leading and the victim's APs unmonitored")
        t_over = datetime.now(timezone.utc)
        aps = {a["ap"]: a["state"] for a in d["aps"]}
        assert all(aps[ap] == "up" for ap in kept), aps
        assert d["open_outages"] == []
        sites = {s["site"]: s for s in d["sites"]}
        for site in ("taman-a", "pasar-b"):
            members = [ap for ap, st in SITE.items() if st == site]
            assert sites[site]["unknown"] == sum(1 for ap in members if ap in lost)
            assert sites[site]["up"] == sum(1 for ap in members if ap in kept)
            assert sites[site]["state"] == "up"  # unknown APs do not make a site degraded
        hb = {h["shard"]: h for h in d["shards"]}
        assert hb[victim.key]["alive"] is False and hb[survivor.key]["alive"] is True
        assert hb[survivor.key]["leader"] is True
        assert (t_over - t_kill).total_seconds() < 30

        states = StateStore(state_url)
        try:
            alerts = AlertManager(cfg, cfg.alerts, states.engine)

            def shard_alert(state):
                return [a for a in alerts.alerts(states=(state,)) if a.rule == "monitor_unhealthy"
                        and a.labels.get("reason") == "shard_down"]

            fired = wait_for(lambda: shard_alert("firing"), 15, "monitor_unhealthy shard_down firing")
            assert [a.labels["shard"] for a in fired] == [victim.key]
            # the victim's APs: their observed time ends at or before the kill, none still open
            spans = states.coverage(aps=lost)
            assert spans and all(not x.open for x in spans)
            assert max(x.end for x in spans) <= t_kill
            # ...so after the kill they are unmonitored: neither up nor down
            a = availability(states, cfg, start=t_kill, end=t_over, ap=lost[0])
            assert (a.monitored_us, a.down_us) == (0, 0)
            assert a.unmonitored_us == a.service_us > 0
        finally:
            states.close()

        # the survivor keeps working: its APs' data keep arriving (SNMP and MQTT), the victim's not
        t_after = datetime.now(timezone.utc)
        got = wait_for(lambda: (lambda p: p if all(p.get(ap, 0) >= 2 for ap in kept) else None)(
            points_since(influxd, db, "ap_status", "up", t_after)), 20, "the survivor's APs still polled")
        assert not set(got) & set(lost), got

        # the victim comes back: not the leader, its APs up again, no phantom outage, alert resolved
        victim.start()

        def back():
            rt = victim.runtime()
            if not rt:
                return None
            d = fleet()
            return d if all(a["state"] == "up" for a in d["aps"]) else None

        d = wait_for(back, 40, "the restarted shard's APs up again")
        assert victim.runtime()["leader"] is False and survivor.runtime()["leader"] is True
        states = StateStore(state_url)
        try:
            assert states.outages() == []
            alerts = AlertManager(cfg, cfg.alerts, states.engine)
            wait_for(lambda: not [a for a in alerts.alerts(states=("firing",))
                                  if a.rule == "monitor_unhealthy" and a.labels.get("shard") == victim.key],
                     15, "the shard_down alert resolved")
        finally:
            states.close()

        # the CLI shows the shard and the leader
        out = subprocess.run([sys.executable, "-m", "hotspot_monitor", "status", str(cfg_path), "--json",
                              "--shard", survivor.key, "--base-dir", str(tmp_path)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        js = json.loads(out.stdout)
        assert (js["service"]["shard"], js["service"]["leader"]) == (survivor.key, True)
        assert sorted((h["shard"], h["alive"], h["leader"]) for h in js["shards"]) == sorted(
            [(survivor.key, True, True), (victim.key, True, False)])
        out = subprocess.run([sys.executable, "-m", "hotspot_monitor", "status", str(cfg_path),
                              "--base-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        line = next(x for x in out.stdout.splitlines() if x.startswith("shards: "))
        assert f"{survivor.key} up (leader) 3 APs" in line and f"{victim.key} up 3 APs" in line
        for s in shards:
            s.stop()
        for s in shards:
            assert PASSWORD not in s.log.read_text() and COMMUNITY not in s.log.read_text()
        assert time.monotonic() - t_begin < 90
    finally:
        for s in shards:
            if s.proc is not None and s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait(10)
        bg.stop()
