"""The language of human-readable messages: Flask-Babel with gettext catalogs.

Catalogs are iredapi_ldap/translations/<lang>/LC_MESSAGES/messages.po, compiled to .mo
(docs/operations.md#languages). Only texts change with the language (`detail`, the
messages under `errors`, BrainyCP's `mess`); codes never do.

The language is `language=en|ru` on the routes that take it (the mail host routes and the
BrainyCP-compatible route), else the best match of Accept-Language, else the route's
default: English, Russian on the BrainyCP-compatible route (as BrainyCP does).
"""

from __future__ import annotations

from flask import Flask
from flask import has_request_context
from flask import request
from flask_babel import Babel

from ..inputs import MalformedInput
from ..inputs import form_body
from ..inputs import json_body
from ..inputs import query_args

LANGUAGES = ("en", "ru")
DEFAULT = "en"
# Blueprints whose routes take `language=` and the default of each.
LANGUAGE_BLUEPRINTS = {"mailhost": "en", "brainycp": "ru"}


def _language_argument() -> str | None:
    """Return the `language` the request names (query, form or JSON body), if any."""
    try:
        value = query_args().get("language")
        if value is None and request.mimetype == "application/x-www-form-urlencoded":
            value = form_body().get("language")
        elif value is None and request.is_json:
            body = json_body()
            value = body.get("language") if isinstance(body, dict) else None
    except MalformedInput:
        return None
    if not isinstance(value, str):
        return None
    language = value.strip().lower().replace("-", "_").partition("_")[0]
    return language if language in LANGUAGES else None


def select_locale() -> str:
    """Flask-Babel's locale selector: language=, then Accept-Language, then the default."""
    if not has_request_context():
        return DEFAULT
    default = LANGUAGE_BLUEPRINTS.get(request.blueprint or "")
    if default is not None:
        named = _language_argument()
        if named:
            return named
    return request.accept_languages.best_match(LANGUAGES) or default or DEFAULT


def init_babel(app: Flask) -> None:
    """Set up Flask-Babel with the package's catalogs."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    Babel(app, locale_selector=select_locale)
