"""End to end: simulator (real SNMP agents + MQTT publishers) -> `hotspot-monitor
run` as a real process (real Mosquitto) -> status engine -> outage log.

Stop one AP: it is down within down_after x interval + timeout and an outage
is open; revive it: the outage closes with the right duration (within one
poll interval). A site power cut makes the site down. A restart of the
service alone creates no outage.
"""
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from contextlib import contextmanager
from pathlib import Path


from hotspot_monitor.commands.demo import write_config
from hotspot_monitor.commands.status import collect
from hotspot_monitor.config import parse_config
from hotspot_monitor.simulator import Rates, Simulator
from hotspot_monitor.simulator.background import BackgroundSimulator

INTERVAL = 1.0
TIMEOUT = 0.4
DOWN_AFTER = 3
COMMUNITY = "e2e-Community-4417"
AUTH_KEY = "e2e-auth-key-9910"
PRIV_KEY = "e2e-priv-key-8820"

INVENTORY = f"""
timezone: Asia/Jakarta
collector:
  interval_s: {INTERVAL}
  timeout_s: {TIMEOUT}
  retries: 0
  down_after: {DOWN_AFTER}
  snmp: {{version: 2c, community: {COMMUNITY}}}
mqtt:
  enabled: true
  port: {{mqtt_port}}
  client_id: e2e-collector
  heartbeat_timeout_s: 5
sites:
  - {{id: taman-a, name: Taman Balekambang, kind: park, lat: -7.5544, lon: 110.8046}}
  - {{id: pasar-b, name: Pasar Gedhé, kind: market, lat: -7.5683, lon: 110.8316}}
aps:
  - {{id: a-1, site: taman-a, host: 127.0.0.1, port: 1, profile: unifi}}
  - {{id: a-2, site: taman-a, host: 127.0.0.1, port: 1, profile: mikrotik, mqtt_id: a-2}}
  - {{id: b-1, site: pasar-b, host: 127.0.0.1, port: 1, profile: generic}}
  - id: b-2
    site: pasar-b
    host: 127.0.0.1
    port: 1
    profile: unifi
    snmp: {{version: 3, user: monitor, auth_protocol: SHA256, auth_key: {AUTH_KEY},
            priv_protocol: AES, priv_key: {PRIV_KEY}}}
"""


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def traffic_over_run(cfg, base, sim, ap):
    """(sum of stored rx_bytes of the AP's uplink, its counter difference between
    the first and the last traffic sample according to the simulator)."""
    from datetime import timedelta
    from hotspot_monitor.simulator.mib import IFACES
    from hotspot_monitor.stores.factory import open_store
    (iface,) = [name for _, name, _, role, _ in IFACES[sim.model.aps[ap].vendor] if role == "uplink"]
    t0, t1 = datetime(2000, 1, 1, tzinfo=timezone.utc), datetime.now(timezone.utc)
    ms = timedelta(milliseconds=1)
    with open_store(cfg.store, base) as store:
        (traffic,) = store.aggregate("ap_traffic", "rx_bytes", start=t0, end=t1, every=ms,
                                     agg="sum", tags={"ap": ap, "iface": iface})
    # from the first interval on: the very first poll reads its counters late
    # (first contact), so its interval is not comparable to the model's clock
    first, last = traffic.buckets[0].start, traffic.buckets[-1].start
    total = sum(b.value for b in traffic.buckets[1:])
    rx = lambda t: sim.state(ap, t.timestamp()).counters[iface][0]  # noqa: E731
    return total, rx(last) - rx(first)


class Run:
    """`hotspot-monitor run` as a child process, as an operator starts it."""

    def __init__(self, cfg_path: Path, base: Path):
        self.cfg_path, self.base = cfg_path, base
        self.log = base / "service.log"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hotspot_monitor", "run", str(self.cfg_path), "--base-dir",
             str(self.base), "--log-format", "json"],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            rc = self.proc.wait(30)
            assert rc == 0, self.log.read_text()[-3000:]


@contextmanager
def fleet_and_service(inventory_text: str, seed: int, base: Path):
    """The simulated fleet (no planned events) and `run` on its config; both stopped after."""
    sim = Simulator(parse_config(inventory_text, "e2e.yaml"), seed=seed, addressing="ports",
                    rates=Rates(reboot=0, outage=0, power_cut=0))
    bg = BackgroundSimulator(sim)
    bg.start()
    service = None
    try:
        cfg = sim.collector_config()
        cfg_path = base / "config.yaml"
        write_config(cfg, cfg_path)
        service = Run(cfg_path, base).start()
        yield sim, bg, cfg, service
    finally:
        if service is not None:
            service.stop()
        bg.stop()


def test_outage_recovery_power_cut_and_restart(mosquitto, tmp_path):
    with fleet_and_service(INVENTORY.replace("{mqtt_port}", str(mosquitto.port)), 7, tmp_path) as (
            sim, bg, cfg, service):

        def status():
            d = collect(cfg, tmp_path)
            return {a["ap"]: a for a in d["aps"]}, {s["site"]: s for s in d["sites"]}, d

        wait_for(lambda: all(a["state"] == "up" for a in status()[0].values()), 60, "all APs up")
        aps, sites, d = status()
        assert sites["taman-a"]["state"] == sites["pasar-b"]["state"] == "up"
        assert d["open_outages"] == []

        # --- one AP stops answering ---------------------------------------------
        t_down = time.time()
        bg.call(sim.force_down, "a-1")
        wait_for(lambda: status()[0]["a-1"]["state"] == "down",
                 DOWN_AFTER * INTERVAL + TIMEOUT + 10, "a-1 down")
        detected = time.time() - t_down
        assert detected <= DOWN_AFTER * INTERVAL + TIMEOUT + INTERVAL + 3, detected
        aps, sites, d = status()
        assert sites["taman-a"]["state"] == "degraded"
        (o,) = d["open_outages"]
        start = datetime.fromisoformat(o["start"].replace("Z", "+00:00")).timestamp()
        assert o["ap"] == "a-1" and o["reason"] == "snmp_timeout" and o["end"] is None
        # the outage starts at the first failed poll, not when the threshold was crossed
        assert t_down - 0.05 <= start <= t_down + INTERVAL + TIMEOUT + 1.0

        # --- it comes back ----------------------------------------------------------
        time.sleep(2)
        t_up = time.time()
        bg.call(sim.force_up, "a-1")
        wait_for(lambda: status()[0]["a-1"]["state"] == "up", INTERVAL + TIMEOUT + 10, "a-1 up")
        d = status()[2]
        assert d["open_outages"] == []
        (o,) = [x for x in d["recent_outages"] if x["ap"] == "a-1"]
        true_down = t_up - t_down
        assert abs(o["duration_s"] - true_down) <= INTERVAL + TIMEOUT + 0.5, (o, true_down)

        # --- a power cut takes the whole site down ------------------------------------
        bg.call(sim.power_cut, "pasar-b")
        wait_for(lambda: status()[1]["pasar-b"]["state"] == "down",
                 DOWN_AFTER * INTERVAL + TIMEOUT + 10, "site pasar-b down")
        aps, sites, d = status()
        assert aps["b-1"]["state"] == aps["b-2"]["state"] == "down"
        assert sites["taman-a"]["state"] == "up"
        assert {o["ap"] for o in d["open_outages"]} == {"b-1", "b-2"}
        bg.call(sim.power_restore, "pasar-b")
        wait_for(lambda: status()[1]["pasar-b"]["state"] == "up", 15, "site pasar-b up")

        # --- a restart of the service alone creates no outage ---------------------------
        n_outages = len(collect(cfg, tmp_path, recent=100)["recent_outages"])
        service.stop()
        time.sleep(DOWN_AFTER * INTERVAL + 1)  # longer than the down threshold
        service.start()  # the same service, started again on the same state
        t_restart = time.time()

        def seen_after_restart():
            aps = status()[0]
            return all(datetime.fromisoformat(a["last_seen"].replace("Z", "+00:00")).timestamp()
                       > t_restart for a in aps.values())

        wait_for(seen_after_restart, 30, "polls after the restart")
        time.sleep(DOWN_AFTER * INTERVAL)
        d = collect(cfg, tmp_path, recent=100)
        assert d["open_outages"] == []
        assert len(d["recent_outages"]) == n_outages
        assert all(a["state"] == "up" for a in d["aps"])

        # traffic is exact over the whole run, across the outage and the restart
        # (counter baselines survive a clean restart), and a-2's bytes, reported
        # by SNMP and MQTT, are counted once
        service.stop()
        for ap in ("a-1", "a-2"):
            total, expected = traffic_over_run(cfg, tmp_path, sim, ap)
            assert expected > 0 and abs(total - expected) <= 0.015 * expected, (ap, total, expected)

        # secrets never reach the service log
        log_text = (tmp_path / "service.log").read_text()
        for secret in (COMMUNITY, AUTH_KEY, PRIV_KEY):
            assert secret not in log_text


def test_service_on_influxdb_with_an_mqtt_only_ap(mosquitto, influxd_auth, tmp_path, monkeypatch):
    """The same service on the production store: InfluxDB with auth (the password
    from the environment), plus an AP that only publishes MQTT telemetry."""
    from services.influxd import ADMIN_PASSWORD, ADMIN_USER
    monkeypatch.setenv("HM_INFLUX_PW", ADMIN_PASSWORD)
    db = "e2e_" + str(int(time.time() * 1000))
    text = INVENTORY.replace("{mqtt_port}", str(mosquitto.port)) + (
        "  - {id: c-1, site: taman-a, mqtt_id: c-1}\n"
        f"store:\n  kind: influxdb\n  influxdb:\n    url: {influxd_auth.url}\n"
        f"    database: {db}\n    username: {ADMIN_USER}\n    password: ${{HM_INFLUX_PW}}\n")
    with fleet_and_service(text, 11, tmp_path) as (sim, bg, cfg, service):

        def clients():
            d = collect(cfg, tmp_path)
            assert d["store_error"] is None, d["store_error"]
            return {a["ap"]: (a["state"], a["clients"]) for a in d["aps"]}

        # every AP up, and a client count read back from InfluxDB for those whose
        # profile has one (b-1 is a plain net-snmp box: no client OIDs), c-1 via MQTT only
        def ready():
            c = clients()
            ok = all(s == "up" for s, _ in c.values()) and all(
                n is not None for ap, (_, n) in c.items() if ap != "b-1")
            return c if ok else None

        got = wait_for(ready, 60, "all APs up with clients")
        assert set(got) == {"a-1", "a-2", "b-1", "b-2", "c-1"}
        # the stored values are the simulator's: compare c-1's latest count with the model
        from hotspot_monitor.stores.factory import open_store
        with open_store(cfg.store, tmp_path) as store:
            (latest,) = store.latest("ap_clients", tags={"ap": "c-1", "radio": "all"})
            st = sim.state("c-1", latest.time.timestamp())
            assert latest.fields["clients"] == st.clients_24 + st.clients_5
            sources = {s.tags["source"] for s in store.latest("ap_status", tags={"ap": "a-2"})}
            assert sources == {"snmp", "mqtt"}
        service.stop()
        log_text = (tmp_path / "service.log").read_text()
        assert ADMIN_PASSWORD not in log_text and COMMUNITY not in log_text
