"""WSGI entry point: `gunicorn wsgi:app` with IREDAPI_LDAP_CONFIG pointing at the INI file."""

from iredapi_ldap import create_app

app = create_app()
