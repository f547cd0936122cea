"""Accounts and roles through the real app (Flask test client, CSRF on, real state store).

A partner sees only its sites in pages and API; a viewer cannot change
anything; anonymous visitors get the login page (API: 401); CSRF is enforced;
repeated wrong passwords are throttled; tokens are scoped like roles; no
secret appears in any answer.
"""
import re
import time

import pytest

from dashboard import create_app
from dashboard_seed import COMMUNITY, fixed_now, seed

PW = "correct-horse-battery"
PAGES = ["/", "/map", "/sites", "/sites/balekambang", "/aps/bk-1", "/outages", "/outages.csv", "/health",
         "/account", "/admin/users"]
API = ["/api/v1/kpis", "/api/v1/overview", "/api/v1/map", "/api/v1/sites", "/api/v1/sites/balekambang",
       "/api/v1/sites/balekambang/series", "/api/v1/aps", "/api/v1/aps/bk-1", "/api/v1/aps/bk-1/series",
       "/api/v1/states", "/api/v1/outages", "/api/v1/health", "/api/v1/catalogue"]


@pytest.fixture()
def app(tmp_path):
    s = seed(tmp_path, fixed_now())
    app = create_app(s.cfg, base_dir=tmp_path, testing=True, clock=fixed_now)
    acc = app.extensions["hotspot"].accounts
    for name, role, partner in [("admin", "admin", None), ("op", "operator", None),
                                ("view", "viewer", None), ("telco-user", "partner", "telco")]:
        acc.add_user(name, PW, role, partner=partner)
    yield app
    app.extensions["hotspot"].close()


def csrf(client, path="/login"):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def login(app, user, password=PW):
    c = app.test_client()
    r = c.post("/login", data={"csrf_token": csrf(c), "username": user, "password": password, "next": "/"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return c


def test_anonymous_gets_the_login_page_and_the_api_401(app):
    c = app.test_client()
    for path in PAGES:
        r = c.get(path)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next="), path
    assert c.get("/login").status_code == 200
    for path in API:
        r = c.get(path)
        assert r.status_code == 401, path
        assert r.get_json()["error"] == "unauthorized"
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert c.get("/healthz").data == b"ok\n"
    assert c.get("/api/v1/openapi.json").status_code == 200  # the document holds no data
    assert c.get("/api/v1/kpis", headers={"Authorization": "Bearer hm_not-a-token"}).status_code == 401


def test_partner_sees_only_its_sites_in_pages_and_api(app):
    c = login(app, "telco-user")
    assert [s["id"] for s in c.get("/api/v1/sites").get_json()["sites"]] == ["pasar-gede", "night-market"]
    assert {a["id"] for a in c.get("/api/v1/aps").get_json()["aps"]} == {"pg-1", "pg-2", "nm-1"}
    assert {a["id"] for a in c.get("/api/v1/states").get_json()["aps"]} == {"pg-1", "pg-2", "nm-1"}
    assert [s["id"] for s in c.get("/api/v1/map").get_json()["sites"]] == ["pasar-gede", "night-market"]
    assert [o["ap"] for o in c.get("/api/v1/outages").get_json()["outages"]] == ["pg-1"]
    ov = c.get("/api/v1/overview").get_json()
    assert ov["open_outages"] == [] and {e["ap"] for e in ov["events"]} == {"pg-1"}
    for path in ["/api/v1/sites/balekambang", "/api/v1/sites/balekambang/series", "/api/v1/aps/bk-2",
                 "/api/v1/aps/bk-2/series", "/sites/balekambang", "/aps/bk-1"]:
        assert c.get(path).status_code == 404, path
    assert c.get("/api/v1/outages?site=balekambang").get_json()["outages"] == []
    assert c.get("/api/v1/sites/pasar-gede").status_code == 200
    # pages: other sites' names and APs never appear
    for path in ["/", "/map", "/sites", "/outages", "/sites/pasar-gede", "/aps/pg-1"]:
        html = c.get(path).get_data(as_text=True)
        assert "Balekambang" not in html and "bk-2" not in html and "Sriwedari" not in html, path
    csv_text = c.get("/outages.csv").get_data(as_text=True)
    assert csv_text.count("\n") == 2 and ",pg-1,pasar-gede," in csv_text
    # the monitor's internals are not a partner's business
    assert c.get("/health").status_code == 403
    assert c.get("/api/v1/health").status_code == 403


def test_viewer_cannot_change_anything(app):
    ext = app.extensions["hotspot"]
    outage_id = ext.states.outages(open_only=True)[0].id
    c = login(app, "view")
    token = csrf(c, "/outages")
    assert c.post(f"/outages/{outage_id}/notes", data={"csrf_token": token, "text": "x"}).status_code == 403
    assert c.get("/admin/users").status_code == 403
    assert c.post("/admin/users", data={"csrf_token": token, "add-username": "evil", "add-password": "x" * 12,
                                        "add-role": "admin"}).status_code == 403
    assert c.post("/admin/users/op/remove", data={"csrf_token": token}).status_code == 403
    assert c.post("/admin/tokens/1/revoke", data={"csrf_token": token}).status_code == 403
    assert ext.accounts.notes([outage_id]) == {}
    assert ext.accounts.get("evil") is None and ext.accounts.get("op") is not None
    html = c.get("/outages").get_data(as_text=True)
    assert "note-form" not in html  # no form offered either
    # the same note by an operator is accepted (the check above can fail)
    o = login(app, "op")
    r = o.post(f"/outages/{outage_id}/notes", data={"csrf_token": csrf(o, "/outages"), "text": "PLN power cut"})
    assert r.status_code == 302
    assert [n.text for n in ext.accounts.notes([outage_id])[outage_id]] == ["PLN power cut"]
    assert "PLN power cut" in o.get("/outages").get_data(as_text=True)


def test_csrf_is_enforced(app):
    ext = app.extensions["hotspot"]
    c = app.test_client()
    r = c.post("/login", data={"username": "op", "password": PW})
    assert r.status_code == 400
    assert c.get("/").status_code == 302  # not logged in
    o = login(app, "op")
    outage_id = ext.states.outages(open_only=True)[0].id
    assert o.post(f"/outages/{outage_id}/notes", data={"text": "no token"}).status_code == 400
    assert o.post(f"/outages/{outage_id}/notes", data={"text": "bad", "csrf_token": "forged"}).status_code == 400
    a = login(app, "admin")
    assert a.post("/admin/users", data={"add-username": "x", "add-password": "y" * 12, "add-role": "viewer"}).status_code == 400
    assert a.post("/logout").status_code == 400
    assert a.get("/admin/users").status_code == 200  # still logged in
    assert ext.accounts.notes([outage_id]) == {} and ext.accounts.get("x") is None


def test_wrong_passwords_are_throttled(app):
    c = app.test_client()
    token = csrf(c)
    for _ in range(4):
        r = c.post("/login", data={"csrf_token": token, "username": "op", "password": "wrong-password"})
        assert r.status_code == 200 and "salah" in r.get_data(as_text=True)  # "wrong" in Indonesian
    r = c.post("/login", data={"csrf_token": token, "username": "op", "password": "wrong-password"})
    assert r.status_code == 429  # the 5th wrong password locks the account (web.login_attempts)
    # while locked even the right password is refused, without being checked
    r = c.post("/login", data={"csrf_token": token, "username": "op", "password": PW})
    assert r.status_code == 429 and c.get("/").status_code == 302
    # web.lockout_s is 2 s in the seed config: the lock lifts by itself
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = c.post("/login", data={"csrf_token": token, "username": "op", "password": PW})
        if r.status_code == 302:
            break
        assert r.status_code == 429
        time.sleep(0.25)
    assert r.status_code == 302 and c.get("/").status_code == 200


def test_one_address_trying_many_usernames_is_throttled(app):
    c = app.test_client()
    token = csrf(c)
    codes = [c.post("/login", data={"csrf_token": token, "username": f"nobody{i}", "password": "x"}).status_code
             for i in range(21)]
    assert codes[:20] == [200] * 20 and codes[20] == 429


def test_api_tokens_are_scoped_like_roles(app):
    ext = app.extensions["hotspot"]
    viewer_token = ext.accounts.create_token("view", "grafana")
    partner_token = ext.accounts.create_token("telco-user", "billing")
    c = app.test_client()
    h = {"Authorization": f"Bearer {viewer_token}"}
    assert len(c.get("/api/v1/sites", headers=h).get_json()["sites"]) == 4
    assert c.get("/api/v1/health", headers=h).status_code == 200
    hp = {"Authorization": f"Bearer {partner_token}"}
    assert [s["id"] for s in c.get("/api/v1/sites", headers=hp).get_json()["sites"]] == ["pasar-gede", "night-market"]
    assert c.get("/api/v1/health", headers=hp).status_code == 403
    # a token is for the API, not a login for the pages
    assert c.get("/", headers=h).status_code == 302
    # an operator's token limited to viewer; a viewer cannot mint an operator token
    from dashboard.accounts import AccountError
    with pytest.raises(AccountError):
        ext.accounts.create_token("view", "x", role="operator")
    with pytest.raises(AccountError):
        ext.accounts.create_token("telco-user", "x", role="viewer")
    # only the hash is stored
    with ext.states.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT token_sha256 FROM web_api_tokens").scalars().all()
    assert viewer_token not in stored and len(stored) == 2
    # revoked: 401 at once
    tid = next(t.id for t in ext.accounts.list_tokens("view"))
    ext.accounts.revoke_token(tid)
    assert c.get("/api/v1/sites", headers=h).status_code == 401


def test_password_change_ends_other_sessions_and_hashes_passwords(app):
    ext = app.extensions["hotspot"]
    c1 = login(app, "op")
    ext.accounts.set_password("op", "another-long-password")
    assert c1.get("/").status_code == 302
    with ext.states.engine.connect() as conn:
        hashes = conn.exec_driver_sql("SELECT password_hash FROM web_users").scalars().all()
    assert all(h.startswith("scrypt:") and PW not in h for h in hashes)
    login(app, "op", "another-long-password")


def test_no_secret_in_any_answer_and_security_headers(app):
    c = login(app, "admin")
    for path in PAGES + API + ["/api/v1/openapi.json"]:
        r = c.get(path)
        assert r.status_code == 200, path
        assert COMMUNITY not in r.get_data(as_text=True), path
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
        assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"
    html = c.get("/").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)  # no inline scripts
    r = app.test_client().get("/login")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_admin_manages_users_in_the_page(app):
    ext = app.extensions["hotspot"]
    a = login(app, "admin")
    token = csrf(a, "/admin/users")
    r = a.post("/admin/users", data={"csrf_token": token, "add-username": "field1",
                                     "add-password": "field-password-1", "add-role": "operator"})
    assert r.status_code == 302 and ext.accounts.get("field1").role == "operator"
    r = a.post("/admin/users", data={"csrf_token": token, "tok-username": "field1", "tok-name": "phone",
                                     "tok-role": "viewer"})
    new = re.search(r"<code>(hm_[^<]+)</code>", r.get_data(as_text=True)).group(1)
    assert a.get("/api/v1/kpis", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    assert a.post("/admin/users/field1/remove", data={"csrf_token": token}).status_code == 302
    assert ext.accounts.get("field1") is None
    assert app.test_client().get("/api/v1/kpis", headers={"Authorization": f"Bearer {new}"}).status_code == 401
