"""Fixtures of the SQL store tests: bare apps with only the store, and an engine of our own."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from iredapi_ldap import sqlstore
from iredapi_ldap.sqlstore import get_store


def make_app(url: str) -> Flask:
    """A bare Flask app with only the SQL store, as create_app wires it."""
    app = Flask(__name__)
    app.config["SQL_URL"] = url
    sqlstore.init_app(app)
    return app


@pytest.fixture
def apps(sql_url):
    """Build apps on the test database and close their connections afterwards."""
    built: list[Flask] = []

    def build(url: str = sql_url) -> Flask:
        app = make_app(url)
        built.append(app)
        return app

    yield build
    for app in built:
        sqlstore.dispose(app)


@pytest.fixture
def store(apps):
    return get_store(apps())


@pytest.fixture
def db(sql_url):
    """An engine of our own, to check what the store wrote without going through it."""
    engine = sa.create_engine(sql_url)
    yield engine
    engine.dispose()
