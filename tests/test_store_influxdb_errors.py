"""InfluxDB store failures against a real influxd: clear errors, never a secret."""
from __future__ import annotations

import http.server
import logging
import socket
import threading
import time
from datetime import datetime, timezone
from typing import Iterator

import pytest
from pydantic import SecretStr

from hotspot_monitor.config.models import InfluxSettings
from hotspot_monitor.sample import Sample
from hotspot_monitor.stores import StoreError, StoreUnavailable
from hotspot_monitor.stores.influxdb import InfluxStore, safe_url
from hotspot_monitor.stores.lineprotocol import line as line_of
from services.influxd import ADMIN_PASSWORD, ADMIN_USER
from services.ports import free_port

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
TOKEN = "tok-Very-Secret-0123456789"
SAMPLE = Sample("ap_clients", {"site": "S", "ap": "a", "radio": "all"}, {"clients": 3}, T0)


def no_secret(text: str, *secrets: str) -> None:
    for s in secrets:
        assert s not in text, f"secret leaked into: {text}"


def test_password_auth_works_and_wrong_password_is_clear(influxd_auth, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    good = InfluxStore(InfluxSettings(url=influxd_auth.url, database="authdb",
                                      username=ADMIN_USER,
                                      password=SecretStr(ADMIN_PASSWORD)))
    good.write([SAMPLE])
    good.flush()
    good.ping()
    assert [s.fields for s in good.latest("ap_clients")] == [{"clients": 3}]
    good.close()

    wrong = "Wr0ng-Pass-Phrase"
    with pytest.raises(StoreError) as e:
        InfluxStore(InfluxSettings(url=influxd_auth.url, database="authdb",
                                   username=ADMIN_USER, password=SecretStr(wrong),
                                   create_database=False)).latest("ap_clients")
    msg = str(e.value)
    assert "HTTP 401" in msg and "authorization failed" in msg
    assert influxd_auth.url in msg and "username/password" in msg
    no_secret(msg + repr(e.value) + caplog.text, wrong, ADMIN_PASSWORD)

    # credentials inside the URL are used but never shown
    url = influxd_auth.url.replace("http://", f"http://{ADMIN_USER}:{wrong}@")
    store = InfluxStore(InfluxSettings(url=url, database="authdb", create_database=False))
    assert store.url == influxd_auth.url
    with pytest.raises(StoreError) as e:
        store.write([SAMPLE])
        store.flush()
    assert "HTTP 401" in str(e.value)
    no_secret(str(e.value) + caplog.text, wrong)


def test_no_credentials_on_auth_instance(influxd_auth) -> None:
    with pytest.raises(StoreError) as e:
        InfluxStore(InfluxSettings(url=influxd_auth.url, database="x",
                                   create_database=False)).ping()
    assert "HTTP 401" in str(e.value) and "no credentials" in str(e.value)


def test_token_refused_cleanly_by_influxdb_1_6(influxd_auth, caplog) -> None:
    """1.6 does not know ``Authorization: Token`` (2.x/3.x and 1.8+ do): a clean 401."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StoreError) as e:
        InfluxStore(InfluxSettings(url=influxd_auth.url, database="x",
                                   token=SecretStr(TOKEN)))
    msg = str(e.value)
    assert "HTTP 401" in msg and "token" in msg
    assert "unable to parse authentication credentials" in msg
    no_secret(msg + repr(e.value) + caplog.text, TOKEN)


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A loopback HTTP server that records what a client sends (headers, path)."""

    seen: list[tuple[str, str, str]] = []

    def _answer(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        self.seen.append((self.command, self.path, self.headers.get("Authorization", "")))
        if self.path.startswith("/write") or self.path == "/ping":
            self.send_response(204)
            self.end_headers()
            return
        body = b'{"results":[{"statement_id":0}]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *a: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.seen = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_token_is_sent_as_header_never_in_url(recorder: str) -> None:
    store = InfluxStore(InfluxSettings(url=recorder, database="bucket",
                                       token=SecretStr(TOKEN)))
    store.write([SAMPLE])
    store.flush()
    store.ping()
    store.close()
    assert {p.split("?")[0] for _, p, _ in _Recorder.seen} == {"/query", "/write", "/ping"}
    for _method, path, auth in _Recorder.seen:
        assert auth == "Token " + TOKEN
        no_secret(path, TOKEN)


def test_password_is_sent_as_basic_auth_never_in_url(recorder: str) -> None:
    store = InfluxStore(InfluxSettings(url=recorder, database="db", username="u",
                                       password=SecretStr(ADMIN_PASSWORD)))
    store.write([SAMPLE])
    store.flush()
    store.close()
    assert _Recorder.seen and all(a == "Basic dTpzM2NyZXQtQWRtMW4tcHc=" for _, _, a
                                  in _Recorder.seen)
    assert all(ADMIN_PASSWORD not in p and "u=" not in p for _, p, _ in _Recorder.seen)


def test_unknown_database_without_create(influxd) -> None:
    store = InfluxStore(InfluxSettings(url=influxd.url, database="no_such_db",
                                       create_database=False))
    with pytest.raises(StoreError) as e:
        store.write([SAMPLE])
        store.flush()
    assert "database not found" in str(e.value) and "no_such_db" in str(e.value)
    assert not isinstance(e.value, StoreUnavailable)
    with pytest.raises(StoreError, match="database not found"):
        store.latest("ap_clients")
    with pytest.raises(StoreError, match="database not found"):
        store.ping()


def test_bad_request_carries_influxdb_text(influxd, influx_db) -> None:
    store = InfluxStore(InfluxSettings(url=influxd.url, database=influx_db))
    store.write([SAMPLE])
    store.flush()
    clash = Sample("ap_clients", {"site": "S", "ap": "b", "radio": "all"}, {"clients": 2.5},
                   T0)
    with pytest.raises(StoreError) as e:
        store.write([clash])
        store.flush()
    assert "HTTP 400" in str(e.value) and "field type conflict" in str(e.value)
    store.flush()  # the bad batch is dropped, not retried forever
    assert store.dropped_batches == 1


def test_refused_connection_is_unavailable() -> None:
    port = free_port()  # nothing listens there
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(StoreUnavailable) as e:
        InfluxStore(InfluxSettings(url=url, database="x"))
    assert url in str(e.value) and "refused" in str(e.value)
    store = InfluxStore(InfluxSettings(url=url, database="x", create_database=False,
                                       password=SecretStr(ADMIN_PASSWORD), username="u"))
    store.write([SAMPLE])
    with pytest.raises(StoreUnavailable, match="refused"):
        store.flush()
    with pytest.raises(StoreUnavailable):  # kept for retry, fails again
        store.flush()
    no_secret(str(e.value), ADMIN_PASSWORD)


def test_timeout_is_unavailable() -> None:
    silent = socket.socket()  # accepts connections (backlog) but never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    try:
        store = InfluxStore(InfluxSettings(url=url, database="x", create_database=False,
                                           timeout_s=0.3))
        with pytest.raises(StoreUnavailable) as e:
            store.latest("ap_clients")
        assert "timed out" in str(e.value) and url in str(e.value)
    finally:
        silent.close()


def test_safe_url_strips_credentials() -> None:
    assert safe_url("https://user:pw@influx.example:8086/") == "https://influx.example:8086"
    assert safe_url("http://[::1]:8086") == "http://[::1]:8086"


def test_retention_policy_is_used_for_writes_and_reads(influxd, influx_db) -> None:
    influxd.query(f'CREATE RETENTION POLICY "short" ON "{influx_db}" DURATION 0s REPLICATION 1')
    store = InfluxStore(InfluxSettings(url=influxd.url, database=influx_db,
                                       retention_policy="short"))
    store.write([SAMPLE])
    store.flush()
    assert [s.fields for s in store.latest("ap_clients")] == [{"clients": 3}]
    default = InfluxStore(InfluxSettings(url=influxd.url, database=influx_db))
    assert default.latest("ap_clients") == []  # the default RP (autogen) holds nothing
    rows = influxd.query('SELECT * FROM "short"."ap_clients"', db=influx_db)
    [series] = rows["results"][0]["series"]
    [row] = series["values"]
    got = dict(zip(series["columns"], row))
    assert (got["clients"], got["ap"], got["site"]) == (3, "a", "S")
    store.close()
    default.close()


def test_partial_batch_goes_out_after_flush_interval(influxd, influx_db) -> None:
    store = InfluxStore(InfluxSettings(url=influxd.url, database=influx_db, batch_size=1000,
                                       flush_interval_s=2.0))
    store.write([SAMPLE])
    assert store.latest("ap_clients") == []  # queued, below batch_size
    deadline = time.monotonic() + 20
    later = Sample("ap_clients", {"site": "S", "ap": "b", "radio": "all"}, {"clients": 4}, T0)
    while time.monotonic() < deadline:  # a later write() after the interval sends both
        time.sleep(0.05)
        store.write([later])
        if len(store.latest("ap_clients")) == 2:
            break
    assert sorted(s.fields["clients"] for s in store.latest("ap_clients")) == [3, 4]
    store.close()


def test_batches_kept_while_down_are_sent_when_back() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # the stand-in below answers every POST (also /query) with 204: raw batches only
    store = InfluxStore(InfluxSettings(url=url, database="db", create_database=False,
                                       batch_size=2), rollups=False)
    samples = [Sample("ap_clients", {"site": "S", "ap": f"a{i}", "radio": "all"},
                      {"clients": i}, T0) for i in range(5)]
    with pytest.raises(StoreUnavailable):
        store.write(samples)  # two full batches go out (and fail) at once
        store.flush()
    _Recorder.seen = []
    bodies: list[bytes] = []

    class Keep(_Recorder):
        def _answer(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            bodies.append(self.rfile.read(n))
            self.send_response(204)
            self.end_headers()

        do_POST = _answer

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Keep)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        store.flush()
        lines = sorted(b"\n".join(bodies).decode().splitlines())
        assert lines == sorted(line_of(s) for s in samples)
        store.flush()  # nothing left to resend
        assert len(b"\n".join(bodies).decode().splitlines()) == 5
    finally:
        srv.shutdown()
        srv.server_close()


def test_timeouts_do_not_stack_up() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    try:
        store = InfluxStore(InfluxSettings(url=url, database="x", create_database=False,
                                           timeout_s=1.0, batch_size=1))
        t = time.monotonic()
        with pytest.raises(StoreUnavailable, match="timed out"):
            store.write([SAMPLE] * 6)
            store.flush()
        assert time.monotonic() - t < 4.5  # one timeout, not six
    finally:
        silent.close()
