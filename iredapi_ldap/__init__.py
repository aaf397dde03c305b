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
    """Build the WSGI app: config, LDAP, SQL, access gates, error rendering, blueprints, hooks."""
    # local: importing the package (wsgi.py, the CLI, a test) loads no module of the app
    # until an app is built; of the modules below, none imports the package back.
    from . import config
    from . import ldap
    from . import secret_fields
    from . import security
    from . import sqlstore
    from .api import register_api
    from .api.errors import register_error_handlers
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
    app.config.setdefault("API_VERSION", __version__)  # the OpenAPI document's info.version
    app.json.sort_keys = False
    _configure_logging(app.config["LOG_LEVEL"])

    ldap.init_app(app)
    sqlstore.init_app(app)
    # [api] access and [security]: ConfigError here, before anything is registered.
    security.init_app(app)
    register_error_handlers(app)
    register_api(app)
    secret_fields.init_app(app)
    _register_pipeline(app)
    return app


def _register_pipeline(app: Flask) -> None:
    """Register every request hook of the app, in one place and in the order they run.

    No other module registers a hook: the modules only define them. docs/development.md
    ("The lifecycle of a request") walks through the same list, and
    tests/unit/test_pipeline.py asserts it.
    """
    # local: see create_app.
    from . import audit
    from . import auth
    from . import policies
    from .api import reject_undeclared_input
    from .jobs import resume_orphans
    from .ldap import release_directory
    from .models.counter_queue import start_counter_upkeep
    from .security import forget_previous_request
    from .security.client import check_access
    from .security.tokens import forget_changed_admins

    # Before the view, in this order (each may answer instead of the view):
    # 1. Forget what `g` still holds of an earlier request (an app context that outlives
    #    requests, in tests and scripts): every request authenticates itself.
    app.before_request(forget_previous_request)
    # 2. The client gate ([api] enable_api, api_clients): a refused client learns nothing
    #    about credentials, so it runs before any login check.
    app.before_request(check_access)
    # 3. Who is calling (session cookie or API token, through flask-login) and whether the
    #    route's policy lets it, before the body is parsed.
    app.before_request(policies.enforce_route_policy)
    # 4. The session's admin of a write, read before a logout clears the session.
    app.before_request(audit.remember_session_admin)
    # 5. Once per process, resume the jobs a dead worker left.
    app.before_request(resume_orphans)
    # 6. A query string or body type the route does not read is refused, not ignored.
    app.before_request(reject_undeclared_input)
    # 7. Once per process, start the counters' upkeep (writing queued changes, the periodic
    #    re-count); serve starts it at boot, this covers other WSGI servers.
    app.before_request(start_counter_upkeep)

    # After the view (and after per-request after_this_request callbacks, such as the
    # device cookie). Flask calls after_request hooks last-registered first, so they run
    # in the opposite order of the lines below: the audit row first, the token cache last.
    # 4. Drop cached tokens of admins and domains a write here changed.
    app.after_request(forget_changed_admins)
    # 3. flask-login: binds the login manager to the app and registers its after_request
    #    (the remember cookie, which this API never sets but clears if a client sends one).
    auth.login_manager.init_app(app)
    # 2. A session that changed its own admin's entry goes on with the new state.
    app.after_request(auth.refresh_after_own_change)
    # 1. The audit row, now that the answer's status is known.
    app.after_request(audit.record_write)

    # Teardown, also when an exception escaped the view:
    # the audit row of a request whose answer never passed after_request,
    app.teardown_request(audit.record_if_missed)
    # and the LDAP connection back to the pool (for job threads' app contexts too).
    app.teardown_appcontext(release_directory)


def _configure_logging(level: str) -> None:
    """Give the package's logger a level and, unless the host set one up, a stderr handler."""
    logger = logging.getLogger("iredapi_ldap")
    logger.setLevel(level.upper())
    # Under gunicorn nothing configures the root logger, so records would be dropped.
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
