"""Fixtures of the tests that call model and service functions directly (no HTTP)."""

from __future__ import annotations

import pytest

from iredapi_ldap.ldap import get_directory


@pytest.fixture
def directory(module_app, ldap_tree):
    """Yield a Directory inside an app context, on a freshly reset tree."""
    with module_app.app_context():
        yield get_directory()


@pytest.fixture
def config(module_app):
    """Return a copy of the app's config (defaults: transport dovecot, no extra services)."""
    return dict(module_app.config)
