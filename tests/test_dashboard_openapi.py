"""schemathesis against the live dashboard's OpenAPI document (waitress on loopback).

Every operation of /api/v1 is called with generated parameters, as an admin
(via an API token); every answer must match the document (status codes,
content types, response schemas) and no input may cause a server error.
"""
from datetime import datetime, timezone

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from dashboard import create_app
from dashboard.server import WebServer
from dashboard_seed import seed


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    base = tmp_path_factory.mktemp("openapi")
    s = seed(base, datetime.now(timezone.utc).replace(microsecond=0))
    app = create_app(s.cfg, base_dir=base)
    acc = app.extensions["hotspot"].accounts
    acc.add_user("admin", "correct-horse-battery", "admin")
    token = acc.create_token("admin", "schemathesis")
    server = WebServer(app, "127.0.0.1:0", threads=4).bind().start_thread()
    yield server.url.rstrip("/"), token, app
    server.close()
    app.extensions["hotspot"].close()


def test_api_matches_its_openapi_document(live):
    # schemathesis' own pytest loader does not work with pytest 9 yet; drive its
    # hypothesis strategies directly, one operation after the other
    from hypothesis import given

    url, token, _app = live
    schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) == 20
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    calls = []
    for op in operations:
        # a chart range must end after it starts and last at most 400 days: a rule
        # between two parameters that OpenAPI 3.0 cannot state, answered with 400
        excluded = [positive_data_acceptance] if op.path.endswith("/series") else []
        # a new silence names sites, APs and districts of the inventory and needs an end
        # after its start: rules the document cannot state either, answered with 400
        if op.method.upper() == "POST" and op.path == "/api/v1/silences":
            excluded = [positive_data_acceptance]

        @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def check(case):
            r = case.call_and_validate(base_url=url, headers={"Authorization": f"Bearer {token}"},
                                       excluded_checks=excluded)
            calls.append((op.path, r.status_code))
        check()
    assert {path for path, _ in calls} == {op.path for op in operations}
    assert sum(1 for _, code in calls if code == 200) > len(operations)  # real answers, not only errors


def test_document_lists_every_api_route(live):
    """Every /api/v1 route of the app is in the document, and nothing else."""
    import requests

    url, _token, app = live
    doc = requests.get(f"{url}/api/v1/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.")
    routes = {r.rule for r in app.url_map.iter_rules()
              if r.rule.startswith("/api/v1/") and r.rule != "/api/v1/openapi.json"}
    documented = {p.replace("{", "<").replace("}", ">") for p in doc["paths"]}
    assert documented == routes
    assert len(routes) == 19
