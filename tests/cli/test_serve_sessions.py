"""A real multi-worker `serve`: a logout and a token revocation reach every worker at once."""

from __future__ import annotations

import requests

from tests.helpers import SERVE_ADMIN as ADMIN
from tests.helpers import SERVE_PASSWORD as PASSWORD
from tests.helpers import Served

COOKIE = "iRedAdmin-LDAP"


def test_logout_and_revocation_end_the_session_and_token_in_every_worker(tmp_path):
    """After logout and revoke, no worker (each had used the cookie and cached the token) accepts them."""
    server = Served(tmp_path / "var", "--workers", "3", "--admin-email", ADMIN,
                    "--admin-password", PASSWORD)  # fmt: skip
    try:
        session = requests.Session()
        assert session.post(
            f"{server.base}/login", data={"username": ADMIN, "password": PASSWORD}
        ).ok
        cookie = {COOKIE: session.cookies[COOKIE]}
        created = session.post(f"{server.base}/admin/{ADMIN}/tokens", data={"name": "script"})
        assert created.status_code == 201, created.text
        token = created.json()["_data"]
        bearer = {"Authorization": f"Bearer {token['token']}"}
        # A new connection per request: gunicorn hands them to all three workers.
        for _ in range(15):
            assert requests.get(f"{server.base}/domains", headers=bearer).status_code == 200
            assert requests.get(f"{server.base}/domains", cookies=cookie).status_code == 200
        revoked = session.delete(f"{server.base}/admin/{ADMIN}/tokens/{token['id']}")
        assert revoked.status_code == 200, revoked.text
        assert session.post(f"{server.base}/logout").status_code == 200
        for _ in range(15):
            # A refused token counts as a failed login: 429 once a worker's limit is reached.
            refused = requests.post(f"{server.base}/domain/after.test", headers=bearer)
            assert refused.status_code in (401, 429), refused.text
            copied = requests.post(f"{server.base}/domain/after.test", cookies=cookie)
            assert copied.status_code == 401, copied.text
        fresh = requests.Session()
        assert fresh.post(f"{server.base}/login", data={"username": ADMIN, "password": PASSWORD}).ok
        assert fresh.get(f"{server.base}/domain/after.test").status_code == 404
    finally:
        server.stop()
