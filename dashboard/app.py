"""The Flask app factory: stores attached once, one blueprint per area."""
from __future__ import annotations

import gzip
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Callable, Optional

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from hotspot_monitor.config.models import Config
from hotspot_monitor.runner import ServicePaths
from hotspot_monitor.status.statestore import StateStore
from hotspot_monitor.stores.base import MetricStore, StoreError
from hotspot_monitor.stores.factory import open_store

from . import i18n, security
from .accounts import Accounts
from .alert_board import AlertBoard
from .auth import login_manager
from .cache import RefreshCache
from .citizens_web import CitizensWeb
from .fleet import FleetData
from .throttle import AddressThrottle

log = logging.getLogger("dashboard")
csrf = CSRFProtect()


@dataclass
class Dashboard:
    """What the blueprints share (``app.extensions["hotspot"]``)."""

    cfg: Config
    base_dir: Path
    states: StateStore
    store: MetricStore
    fleet: FleetData
    accounts: Accounts
    owns_stores: bool
    alerts: AlertBoard
    throttle: AddressThrottle = field(default_factory=AddressThrottle)

    def close(self) -> None:
        self.fleet.book.stop()
        self.fleet.cache.close()
        if self.owns_stores:
            try:
                self.store.close()
            except StoreError as e:
                log.warning("closing the metric store: %s", e)
            self.states.close()


class _Plotly:
    """plotly.min.js from the installed plotly package, gzipped once in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._raw: Optional[bytes] = None
        self._gz: Optional[bytes] = None

    def bytes(self, gz: bool) -> bytes:
        with self._lock:
            if self._raw is None:
                self._raw = resources.files("plotly").joinpath("package_data/plotly.min.js").read_bytes()
                self._gz = gzip.compress(self._raw, 6, mtime=0)
        return self._gz if gz else self._raw  # type: ignore[return-value]


def plotly_version() -> str:
    import plotly

    return plotly.__version__


def create_app(cfg: Config, *, base_dir: Optional[Path] = None, states: Optional[StateStore] = None,
               store: Optional[MetricStore] = None, testing: bool = False, warm: bool = True,
               clock: Optional[Callable[[], datetime]] = None) -> Flask:
    """The dashboard for ``cfg``. Relative paths in the config are taken from
    ``base_dir`` (as ``run`` does). Pass ``states``/``store`` to share the
    service's own store objects (``run`` with ``web.enabled``)."""
    base_dir = (base_dir or Path.cwd()).resolve()
    owns = states is None and store is None
    states = states or StateStore.from_config(cfg, base_dir)
    store = store or open_store(cfg.store, base_dir)
    clock = clock or (lambda: datetime.now(timezone.utc))
    fleet = FleetData(cfg, base_dir, states, store, RefreshCache(), clock)
    accounts = Accounts(states.engine, attempts=cfg.web.login_attempts, lockout_s=cfg.web.lockout_s,
                        partners=tuple(p.id for p in cfg.partners))
    alerts = AlertBoard(cfg, states.engine, clock, on_maintenance_change=fleet.book.forget_from)
    fleet.book.maintenance = alerts.maintenance_windows  # planned downtime in availability
    app = Flask(__name__)
    app.extensions["hotspot"] = Dashboard(cfg, base_dir, states, store, fleet, accounts, owns, alerts)
    app.extensions["citizens"] = CitizensWeb.create(cfg, states)  # public status page, problem reports
    app.config.update(
        TESTING=testing,
        SECRET_KEY=security.secret_key(cfg, ServicePaths(base_dir).state_dir(cfg)),
        SESSION_COOKIE_NAME="hotspot_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cfg.web.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=cfg.web.secure_cookies,
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        WTF_CSRF_TIME_LIMIT=12 * 3600,
        MAX_CONTENT_LENGTH=64 * 1024,
        BABEL_DEFAULT_LOCALE=cfg.web.locale,
        BABEL_DEFAULT_TIMEZONE=cfg.timezone,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if cfg.web.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = cfg.web.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    security.init_app(app, cfg)
    _register(app)
    if warm and not testing:
        fleet.book.warm()
    return app


def _register(app: Flask) -> None:
    from .blueprints import alerts, api, aps, auth, health, map, outages, overview, reports, sites
    from .blueprints import alerts_api  # noqa: F401 (adds the alert endpoints to api.bp)
    from .blueprints import citizens, public

    for bp in (auth.bp, overview.bp, map.bp, sites.bp, aps.bp, outages.bp, health.bp, alerts.bp, reports.bp,
               api.bp, public.bp, citizens.bp):
        app.register_blueprint(bp)
    csrf.exempt(public.report)  # a public form with no session: see blueprints/public.py
    plotly_js = _Plotly()
    version = plotly_version()

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok\n", mimetype="text/plain")

    @app.get(f"/vendor/plotly-{version}.min.js", endpoint="vendor_plotly")
    def vendor_plotly() -> Response:
        gz = "gzip" in request.headers.get("Accept-Encoding", "")
        r = Response(plotly_js.bytes(gz), mimetype="text/javascript")
        if gz:
            r.headers["Content-Encoding"] = "gzip"
        r.headers["Vary"] = "Accept-Encoding"
        r.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return r

    @app.context_processor
    def globals_() -> dict:
        from .auth import principal
        from .views import PROBLEM_LABELS, REASON_LABELS, STATE_LABELS, js_texts, state_symbol

        me = principal()
        fleet = app.extensions["hotspot"].fleet
        return {"plotly_url": f"/vendor/plotly-{version}.min.js", "me": me,
                "fresh": fleet.freshness() if me is not None else None,
                "state_labels": STATE_LABELS, "state_symbol": state_symbol,
                "problem_labels": PROBLEM_LABELS, "reason_labels": REASON_LABELS,
                "js_texts": js_texts(), "cfg": app.extensions["hotspot"].cfg}

    @app.errorhandler(CSRFError)
    def csrf_error(e: CSRFError):  # type: ignore[no-untyped-def]
        if request.blueprint == "api":
            return jsonify(error="csrf", message=e.description), 400
        return render_template("error.html", code=400, message=e.description), 400

    for code in (403, 404, 429):
        def handler(e, code=code):  # type: ignore[no-untyped-def]
            if request.blueprint == "api" or request.path.startswith("/api/"):
                return jsonify(error=str(code), message=getattr(e, "description", "")), code
            return render_template("error.html", code=code, message=getattr(e, "description", "")), code
        app.register_error_handler(code, handler)
