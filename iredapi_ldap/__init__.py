"""iredapi-ldap: a REST admin API for iRedMail-style OpenLDAP mail hosts."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Flask

__version__ = "0.1.0"


def create_app(
    test_config: dict[str, Any] | None = None,
    config_file: str | None = None,
    given_by: str = "--config",
) -> Flask:
    """Build the WSGI app: config, LDAP, auth, error rendering, blueprints."""
    from . import audit
    from . import auth
    from . import config
    from . import errors
    from . import ldap
    from . import security
    from . import sqlstore
    from .api import register_api
    from .models import counter_queue
    from .sessions import ReusedSerializerSessionInterface

    app = Flask(__name__)
    app.session_interface = ReusedSerializerSessionInterface()
    app.config.from_mapping(config.DEFAULTS)
    path = config_file or config.config_path_from_env()
    if path:
        given_by = given_by if config_file else f"${config.ENV_VAR}"
        app.config.update(config.load_ini(path, given_by=given_by))
    if test_config:
        app.config.update(test_config)
    config.validate_config(app.config)
    app.config.update(
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=app.config["SESSION_TIMEOUT_MINUTES"]),
        SESSION_COOKIE_NAME="iRedAdmin-LDAP",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        # auth.py re-signs the session at its re-check (every 30 s of activity), which keeps
        # the idle timeout; re-signing on every request cost 12% of a worker's CPU.
        SESSION_REFRESH_EACH_REQUEST=False,
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False
    _configure_logging(app.config["LOG_LEVEL"])

    ldap.init_app(app)
    sqlstore.init_app(app)
    # The client/API gate answers before authentication, so a disabled or refused
    # client learns nothing about credentials.
    security.init_app(app)
    auth.init_app(app)
    audit.init_app(app)
    errors.register_error_handlers(app)
    register_api(app)
    counter_queue.init_app(app)
    return app


def _configure_logging(level: str) -> None:
    """Give the package's logger a level and, unless the host set one up, a stderr handler."""
    logger = logging.getLogger("iredapi_ldap")
    logger.setLevel(level.upper())
    # Under gunicorn nothing configures the root logger, so records would be dropped.
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
