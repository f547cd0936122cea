"""End to end: simulator -> `hotspot-monitor run` (a real process) -> alert rules
-> outbox -> a real SMTP server and a local webhook receiver. The scripted
outage gives one e-mail and one webhook call, the recovery one each; a site
power cut gives one site message, not one per AP."""
from __future__ import annotations

import json
import time

from services.receivers import HttpRecorder, Reply, SmtpReceiver
from test_service_end_to_end import fleet_and_service, wait_for

INVENTORY = """
timezone: Asia/Jakarta
collector: {{interval_s: 1.0, timeout_s: 0.4, retries: 0, down_after: 3,
            snmp: {{version: 2c, community: e2e-alerts}}}}
sites:
  - {{id: taman-a, name: Taman Balekambang, kind: park, district: Banjarsari, lat: -7.5544, lon: 110.8046}}
  - {{id: pasar-b, name: Pasar Gedhé, kind: market, district: Jebres, lat: -7.5683, lon: 110.8316}}
aps:
  - {{id: a-1, site: taman-a, host: 127.0.0.1, port: 1, profile: unifi}}
  - {{id: a-2, site: taman-a, host: 127.0.0.1, port: 1, profile: mikrotik}}
  - {{id: b-1, site: pasar-b, host: 127.0.0.1, port: 1, profile: generic}}
  - {{id: b-2, site: pasar-b, host: 127.0.0.1, port: 1, profile: unifi}}
alerts:
  evaluate_every_s: 0.5
  dashboard_url: http://wifi.example
  channels:
    - {{id: noc-mail, type: email, smtp_host: 127.0.0.1, smtp_port: {smtp_port}, starttls: false,
       from: noc@example.go.id, to: [ops@example.go.id], language: id}}
    - {{id: noc-hook, type: webhook, url: "{hook_url}", secret: e2e-hook-secret, language: en}}
  routes:
    - {{channels: [noc-mail, noc-hook], group_wait: 1s, group_interval: 1s}}
  rules:
    ap_down: {{for: 2s}}
    site_down: {{for: 2s}}
"""


def test_scripted_outage_one_message_each_way_and_a_power_cut_one_site_message(tmp_path):
    smtp = SmtpReceiver().start()
    hook = HttpRecorder([Reply(204, b"")]).start()
    try:
        inv = INVENTORY.format(smtp_port=smtp.port, hook_url=hook.url)
        with fleet_and_service(inv, 11, tmp_path) as (sim, bg, cfg, service):
            def events():
                return [json.loads(r.body)["status"] for r in hook.requests]

            # the fleet comes up: no message
            time.sleep(4)
            assert smtp.mails == [] and hook.requests == []

            bg.call(sim.force_down, "a-1")
            wait_for(lambda: len(hook.requests) == 1 and len(smtp.mails) == 1, 30, "the alert")
            [req] = hook.requests
            doc = json.loads(req.body)
            assert doc["status"] == "firing" and [a["rule"] for a in doc["alerts"]] == ["ap_down"]
            assert doc["alerts"][0]["labels"]["ap"] == "a-1"
            mail = smtp.mails[0].message
            assert mail["To"] == "ops@example.go.id" and "Taman Balekambang" in mail["Subject"]
            time.sleep(3)  # no repeat
            assert len(hook.requests) == 1 and len(smtp.mails) == 1

            bg.call(sim.force_up, "a-1")
            wait_for(lambda: len(hook.requests) == 2 and len(smtp.mails) == 2, 30, "the resolution")
            assert events() == ["firing", "resolved"]

            # a power cut at the market: one site message per channel, no AP messages
            bg.call(sim.power_cut, "pasar-b")
            wait_for(lambda: len(hook.requests) == 3 and len(smtp.mails) == 3, 30, "the site alert")
            doc = json.loads(hook.requests[2].body)
            assert [a["rule"] for a in doc["alerts"]] == ["site_down"]
            assert doc["alerts"][0]["details"]["cause"] == "power_cut"
            time.sleep(3)
            assert len(hook.requests) == 3 and len(smtp.mails) == 3
    finally:
        hook.stop()
        smtp.stop()
