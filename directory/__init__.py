"""Lianjie 链接: a community resource directory and referral network for social workers."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from directory.config import load_config
from directory.extensions import babel, csrf, db, limiter, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the application. ``config`` overrides every other source (used by tests)."""
    app = Flask(
        __name__,
        instance_path=str((config or {}).get("INSTANCE_PATH") or PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    load_config(app, config)
    # The app's parts are imported when an app is built, not when the package is: importing any module of
    # ``directory`` (a CLI helper, a test, a migration, a bench script) must not load every blueprint.
    from directory import models  # noqa: F401  (register every table)
    from directory.accounts.audit import install_audit_writer
    from directory.accounts.auth import init_login
    from directory.accounts.routes import bp as accounts_bp
    from directory.api.routes import bp as api_bp
    from directory.catalog.manage_routes import bp as manage_bp
    from directory.catalog.routes import bp as catalog_bp
    from directory.catalog.versions import install_listing_versions
    from directory.cli import register_cli
    from directory.database import install_request_transactions, install_sqlite_settings
    from directory.geo.geocoder import check_geocoder_config
    from directory.i18n import init_i18n
    from directory.logchain import install_log_chain
    from directory.notifications.routes import bp as notifications_bp
    from directory.notifications.sender import install_sender
    from directory.referrals.answer_link import bp as answer_link_bp
    from directory.referrals.guards import install_guards
    from directory.referrals.list_routes import bp as lists_bp
    from directory.referrals.routes import bp as referrals_bp
    from directory.reports.routes import agency_bp
    from directory.reports.routes import bp as reports_bp
    from directory.search.routes import bp as search_bp
    from directory.search.sync import install_sync
    from directory.start.routes import bp as start_bp
    from directory.web import register_template_helpers, register_web

    check_geocoder_config(app.config)
    if app.config["TRUSTED_PROXY_COUNT"]:  # the client address and scheme as the trusted proxies saw them
        proxies = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    logging.basicConfig(level=logging.INFO)

    install_sqlite_settings()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    init_i18n(app, babel)
    init_login(app, login_manager)

    app.register_blueprint(accounts_bp)
    app.register_blueprint(catalog_bp)
    app.register_blueprint(manage_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(referrals_bp)
    app.register_blueprint(lists_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(agency_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(answer_link_bp)
    app.register_blueprint(start_bp)
    install_sync(app)
    install_sender()
    install_guards()
    install_audit_writer()
    install_listing_versions()
    install_log_chain()  # after the audit writer: chains the rows it adds
    register_web(app)
    register_template_helpers(app)
    register_cli(app)
    install_request_transactions(app)  # after every blueprint: wraps each view
    return app
