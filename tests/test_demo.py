"""The README's main job: `hotspot-monitor demo` on embedded defaults.

Runs the real command with the embedded Python broker (as on a machine
without Mosquitto), a short simulated history and a short demo outage, then
reads what `status` reads: every AP of the Surakarta inventory is known, the
demo outage was seen, and it closed with the right duration.
"""
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from hotspot_monitor.commands.status import collect
from hotspot_monitor.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_on_embedded_defaults(tmp_path):
    base = tmp_path / "demo"
    interval, after, length = 3.0, 3.0, 20.0
    # the Surakarta inventory, open round the clock (the test may run at night)
    inv = yaml.safe_load((ROOT / "deploy" / "examples" / "surakarta.yaml").read_text())
    for site in inv["sites"]:
        site.pop("service_hours", None)
    inventory_file = tmp_path / "surakarta-24h.yaml"
    inventory_file.write_text(yaml.safe_dump(inv, allow_unicode=True))
    cmd = [sys.executable, "-m", "hotspot_monitor", "demo", "--inventory", str(inventory_file),
           "--dir", str(base), "--broker", "amqtt",
           "--interval", str(interval), "--backfill", "2h", "--outage-after", str(after),
           "--outage-for", str(length), "--duration", "45"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "amqtt broker on 127.0.0.1:" in r.stdout
    victim = next(line.split()[1] for line in r.stdout.splitlines() if line.strip().startswith("outage"))

    cfg = load_config(base / "config.yaml")
    inventory = load_config(inventory_file)
    assert {a.id for a in cfg.aps} == {a.id for a in inventory.aps}
    d = collect(cfg, base, recent=1000)
    states = {a["ap"]: a["state"] for a in d["aps"]}
    assert set(states) == {a.id for a in inventory.aps}
    assert all(s != "unknown" for s in states.values()), states
    # the demo outage: seen live, closed, with about the length the simulator kept the AP silent
    live = [o for o in d["recent_outages"] if o["ap"] == victim and _ts(o["start"]) > time.time() - 120]
    assert len(live) == 1, d["recent_outages"]
    assert abs(live[0]["duration_s"] - length) <= 2 * interval + 2, live[0]
    assert states[victim] == "up"
    # the simulated history counts as monitored time (the inventory here has no
    # service hours, so every second of the two hours counts)
    from hotspot_monitor.status.availability import availability
    from hotspot_monitor.status.statestore import StateStore
    states_db = StateStore.from_config(cfg, base)
    try:
        end = datetime.now(timezone.utc)
        a = availability(states_db, cfg, start=end - timedelta(hours=2), end=end, ap=victim)
    finally:
        states_db.close()
    assert a.monitored_s > 1.9 * 3600, a
    assert a.downtime_s >= length - 2 * interval - 2, a
    # history was written: two hours of 5-minute samples for every AP
    from hotspot_monitor.stores.factory import open_store
    with open_store(cfg.store, base) as store:
        latest = store.latest("ap_clients", tags={"radio": "all"})
    assert {s.tags["ap"] for s in latest} == set(states)
    assert json.loads((base / "backfill.json").read_text())["until"] > time.time() - 120


def _ts(iso: str) -> float:
    from datetime import datetime
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
