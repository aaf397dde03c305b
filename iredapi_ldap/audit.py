"""Audit log: every write request (who, from where, what, when, result) in the SQL store."""

# Private internals of flask-login relied on (setup.cfg pins flask-login to 0.6.x;
# tests/unit/test_library_internals.py checks every name below):
# - g._login_user -- the admin this request authenticated as, if any, read without making
#   flask-login load one (after the answer, a load would authenticate the request again).
#   Renamed, rows of token (Bearer/Basic) requests lose their admin.

from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask import session
from marshmallow import missing
from werkzeug.exceptions import HTTPException

from .errors import ApiError
from .inputs import MalformedInput
from .inputs import form_body
from .inputs import json_body
from .inputs import printable
from .inputs import query_args
from .secret_fields import mask
from .security.client import client_address
from .security.tokens import current_token
from .sqlstore import get_store
from .sqlstore import iso_utc
from .sqlstore import utc_now
from .sqlstore.audit import IREDADMIN_LIMITS
from .sqlstore.audit import LIMITS

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ACTIONS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
READ_ACTION = "read"
# Answers that mean a request was refused (401, 403, 429), malformed (400, 405, 413, 415) or
# failed (5xx): recorded for reads too. A read answered 2xx, 3xx or 404 is not recorded, so
# reads put no SQL write on the hot path.
REFUSED_STATUSES = frozenset({400, 401, 403, 405, 413, 415, 429})


def audited(method: str, status: int) -> bool:
    """Tell whether a request with this method and answer gets an audit row."""
    return method in WRITE_METHODS or status in REFUSED_STATUSES or status >= 500


ENDPOINT_ACTIONS = {
    "login.login": "login",
    "login.logout": "logout",
    "user.verify_password": "verify_password",
    "admin.verify_password": "verify_password",
    "user.change_email": "rename",
    "alias.change_email": "rename",
}
# [sql] iredadmin_log: the audit actions iRedAdmin's admin log shows, as its events
# (libs/panel LOG_EVENTS), and the verb and noun of its message (libs/ldaplib: "Create user:
# x@y.", with "[API] " before it as iRedAdmin's libs/logger.py marks /api/ requests).
IREDADMIN_EVENTS = {
    "create": "create",
    "update": "update",
    "rename": "update",
    "delete": "delete",
    "login": "login",
}
IREDADMIN_NOUNS = {
    "users": "users of domain",
    "domain_admins": "admins of domain",
    "ml": "mailing list",
    "maillist": "mailing list",
    "token": "API token of admin",
    "jobs": "job",
}
IREDADMIN_LOGIN = {200: ("info", "Admin login success"), 401: ("error", "Login failed.")}
MAX_PARAMETERS = 16000  # characters of JSON; fits TEXT on every backend
PURGE_EVERY_SECONDS = 3600
PURGED_KEY = "iredapi_audit_purged"

_RECORDED = "_iredapi_audited"


def note(**fields: str) -> None:
    """Let a view refine what the log says (resource, object, domain, action)."""
    g.setdefault("_iredapi_audit", {}).update(fields)


def remember_session_admin() -> None:
    """before_request: note the session's admin of a write (a logout clears the session)."""
    # Read before the view runs: a logout clears the session it names.
    if request.method in WRITE_METHODS or request.endpoint == "login.logout":
        stored = session.get("_iredapi_admin") or {}
        g._iredapi_session_admin = stored.get("mail", "") if isinstance(stored, dict) else ""


def record_always() -> None:
    """Let a view have its request recorded whatever its method (a write sent by GET)."""
    g._iredapi_audit_always = True


def record_write(response: Response) -> Response:
    """after_request: write the audit row of an audited request, now that its answer is known."""
    vars(request._get_current_object())[_RECORDED] = True  # answered: teardown has nothing to add
    if audited(request.method, response.status_code) or g.get("_iredapi_audit_always"):
        _write_row(response.status_code)
    return response


def record_if_missed(error: BaseException | None) -> None:
    """teardown_request: record a request whose answer never passed after_request."""
    if not vars(request._get_current_object()).get(_RECORDED):
        _write_row(500, "INTERNAL_SERVER_ERROR")


def _write_row(status: int, result: str = "") -> None:
    """Insert the request's row; nothing about the request may keep it out of the log."""
    vars(request._get_current_object())[_RECORDED] = True
    try:
        row = describe_request(status)
    except Exception:
        log.exception("Audit row of %s %s not described in full", request.method, request.path)
        row = _bare_row(status)
    if result:
        row["result"] = result
    try:
        get_store().audit.insert(row)
    except Exception:
        # The write itself is done; failing the answer now would make clients retry it.
        log.error("Audit log not written: %s %s by %s", row["method"], row["path"], row["admin"])
        return
    if current_app.config.get("SQL_IREDADMIN_LOG"):
        _write_iredadmin_row(row)
    _purge_now_and_then(current_app)


def _write_iredadmin_row(row: dict[str, Any]) -> None:
    """Add the request to iRedAdmin's admin log too; apart, so its failure keeps the audit row."""
    entry = iredadmin_row(row)
    if entry is None:
        return
    try:
        get_store().iredadmin_log.insert(entry)
    except Exception:
        log.error("iRedAdmin's admin log not written: %s %s", row["method"], row["path"])


def iredadmin_row(row: dict[str, Any]) -> dict[str, Any] | None:
    """Return the `log` row iRedAdmin would write for an audit row, or None if it writes none.

    iRedAdmin logs changes made and logins (a failed one as an error), not refusals.
    """
    action, status = row.get("action", ""), row["status"]
    event = IREDADMIN_EVENTS.get(action)
    if event is None or row["method"] not in WRITE_METHODS:
        return None
    level, domain, username = "info", row.get("domain", ""), ""
    if event == "login":
        if status not in IREDADMIN_LOGIN:
            return None
        level, message = IREDADMIN_LOGIN[status]
        domain = ""  # as iRedAdmin's login rows
    elif status >= 400:
        return None
    else:
        resource, target = row.get("resource", ""), row.get("object", "")
        noun = IREDADMIN_NOUNS.get(resource, resource.replace("_", " "))
        message = f"{action.capitalize()} {noun}: {target}."
        username = target if "@" in target else ""
    entry = {
        "timestamp": row["timestamp"].replace(microsecond=0),
        "admin": row.get("admin", ""),
        "ip": row.get("client_address", ""),
        "domain": domain,
        "username": username,
        "event": event,
        "loglevel": level,
        "msg": f"[API] {message}",
    }
    return {key: _fit(key, value, IREDADMIN_LIMITS) for key, value in entry.items()}


def _purge_now_and_then(app: Flask) -> None:
    keep_days = app.config["SQL_AUDIT_KEEP_DAYS"]
    last = app.extensions.get(PURGED_KEY)
    if keep_days <= 0 or (last is not None and time.monotonic() - last < PURGE_EVERY_SECONDS):
        return
    app.extensions[PURGED_KEY] = time.monotonic()
    try:
        purge(keep_days)
    except ApiError as exc:
        log.warning("Old audit rows not deleted: %s", exc.detail)


def purge(keep_days: int) -> int:
    """Delete the audit rows older than keep_days days; return how many."""
    return get_store().audit.purge(keep_days)


def describe_request(status: int) -> dict[str, Any]:
    """Return the audit row of the current request."""
    view_args = request.view_args or {}
    mail = str(view_args.get("mail", ""))
    if request.endpoint == "login.login":
        mail = _login_username()
    domain = str(view_args.get("domain", "")) or (mail.rpartition("@")[2] if "@" in mail else "")
    # The policy routes name a domain or an address as `account`.
    account = str(view_args.get("account", ""))
    domain = domain or account.rpartition("@")[2]
    described = {
        "resource": request.blueprint or _first_segment(),
        "object": mail or account or domain or next((str(v) for v in view_args.values()), ""),
        "domain": domain,
        "action": ENDPOINT_ACTIONS.get(
            request.endpoint or "", ACTIONS.get(request.method, READ_ACTION)
        ),
    }
    described.update(g.get("_iredapi_audit", {}))
    token = current_token()
    row = {
        "timestamp": utc_now(),
        "admin": _who(),
        "token": token.id if token else "",
        "client_address": client_address(),
        "method": request.method,
        "path": request.path,
        "parameters": _parameters_json(),
        "status": status,
        "result": g.get("_iredapi_result_code") or ("SUCCESS" if status < 400 else ""),
        **{key: str(value).lower() for key, value in described.items()},
    }
    return {key: _fit(key, value) for key, value in row.items()}


def _bare_row(status: int) -> dict[str, Any]:
    """Return the row of a request that could not be described: what it was, nothing more."""
    row = {
        "timestamp": utc_now(),
        "admin": "",
        "method": request.method,
        "path": request.path,
        "parameters": json.dumps({"_body": "not read"}),
        "status": status,
        "result": "",
    }
    return {key: _fit(key, value) for key, value in row.items()}


def _fit(key: str, value: Any, limits: dict[str, int | None] = LIMITS) -> Any:
    """Make a value storable on every backend: no NUL, no lone surrogate, within the column."""
    if not isinstance(value, str):
        return value
    value = printable(value).replace("\x00", "\\x00")
    return value[: limits[key]] if limits.get(key) else value


def _who() -> str:
    user = g.get("_login_user")
    if getattr(user, "is_authenticated", False):
        return user.mail
    if request.endpoint == "login.login":
        return _login_username()
    return g.get("_iredapi_session_admin", "")


def _login_username() -> str:
    return str(_body().get("username", "")).strip().lower()


def _first_segment() -> str:
    parts = [part for part in request.path.split("/") if part]
    if parts and parts[0] == "api":
        parts = parts[1:]
    return parts[0] if parts else ""


def _body() -> dict[str, Any]:
    try:
        if request.is_json:
            data = json_body()
            if data is missing:
                return {}
            return data if isinstance(data, dict) else {"_body": data}
        form = form_body()
        return {key: values if len(values) > 1 else values[0] for key, values in form.lists()}
    except MalformedInput as exc:
        # Not stored: the secrets of a body that cannot be decoded could not be masked.
        return {"_body": f"not read: {exc.code}"}
    except HTTPException:  # e.g. larger than max_content_length
        return {"_body": "not read"}


def _parameters_json() -> str:
    parameters = _body()
    try:
        args = query_args()
    except MalformedInput as exc:
        parameters = {**parameters, "_query": f"not read: {exc.code}"}
    else:
        if args:
            parameters = {**parameters, "_query": dict(args.lists())}
    text = json.dumps(mask(parameters), ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= MAX_PARAMETERS else text[: MAX_PARAMETERS - 3] + "..."


def query_log(offset: int, limit: int, **filters: Any) -> tuple[list[dict[str, Any]], int]:
    """Return one page of entries, newest first, secrets masked, and how many match in all.

    The filters are those of sqlstore.audit.AuditLog.page (admin, domain, since, until,
    action, resource, visible_to).
    """
    rows, total = get_store().audit.page(offset, limit, **filters)
    return [_public(row) for row in rows], total


def _public(row: dict[str, Any]) -> dict[str, Any]:
    stamp = row["timestamp"]
    row["timestamp"] = iso_utc(stamp)
    try:
        # Masked again: rows written before a field was marked secret hold it in clear.
        row["parameters"] = mask(json.loads(row["parameters"]))
    except ValueError:
        pass  # a truncated record stays text
    return row
