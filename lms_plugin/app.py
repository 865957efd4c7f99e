"""The application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flask import Flask, current_app, has_request_context, request, session
from sqlalchemy import text

from lms_plugin.core.sqlite import configure_sqlite
from lms_plugin.extensions import babel, csrf, db, login_manager, migrate

MIGRATIONS = Path(__file__).parent / "migrations"


def select_language() -> str:
    """The language chosen with the switch, else the browser's preference, else the default."""
    languages = tuple(current_app.config["LANGUAGES"])
    if not has_request_context():  # the command line speaks the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("language")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def register_blueprints(app: Flask) -> None:
    """Every area's pages. Areas are independent; this is the one place that names them all."""
    from lms_plugin.courses import views as courses
    from lms_plugin.dashboard import views as main
    from lms_plugin.framework import profiles
    from lms_plugin.framework import views as framework
    from lms_plugin.jobs import views as jobs
    from lms_plugin.people import accounts
    from lms_plugin.people import views as people
    from lms_plugin.practice.views import logbook as practice
    from lms_plugin.practice.views import mentoring, progression, units
    from lms_plugin.privacy import views as privacy
    from lms_plugin.psychology import views as psychology
    from lms_plugin.reports import views as reports
    from lms_plugin.testing import admin as testing_admin
    from lms_plugin.testing import api
    from lms_plugin.testing import views as testing

    for module in (people, accounts, main, testing, testing_admin, psychology, practice, mentoring, courses,
                   reports, framework, profiles, units, progression, api, privacy, jobs):
        app.register_blueprint(module.bp)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    instance_path = Path(app.instance_path)
    instance_path.mkdir(parents=True, exist_ok=True)

    from lms_plugin.config import load_config

    app.config.from_mapping(load_config(instance_path))
    if config:
        app.config.from_mapping(config)

    from lms_plugin import schema  # noqa: F401  (registers every table before migrations look)
    from lms_plugin.framework import evidence_chain  # noqa: F401  (seals new evidence into its person's chain)

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_language,
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"

    from lms_plugin.jobs import runner
    from lms_plugin.web import busy, handlers
    from lms_plugin.web.request_log import configure_logging

    configure_logging(app)
    handlers.install(app)
    busy.install(app)
    job_runner = runner.init_app(app)
    register_blueprints(app)

    from lms_plugin.cli import register_cli

    register_cli(app)

    @app.get("/healthz")
    def healthz() -> tuple[dict[str, str], int]:
        """The process is alive and answering (nothing else is asked: a busy database is not death)."""
        return {"status": "ok"}, 200

    @app.get("/readyz")
    def readyz() -> tuple[dict[str, str], int]:
        """Ready for traffic: the database answers and the job runner's queue and worker are there."""
        checks = {}
        try:
            db.session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:  # down, unreachable or locked past the wait
            db.session.rollback()
            checks["database"] = type(error).__name__
        ready, detail = job_runner.readiness()
        checks["jobs"] = detail
        ok = checks["database"] == "ok" and ready
        return {"status": "ok" if ok else "unavailable", **checks}, 200 if ok else 503

    csrf.exempt(healthz)
    csrf.exempt(readyz)
    return app
