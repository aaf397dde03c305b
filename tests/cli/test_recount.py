"""`iredapi-ldap recount [domain]`: counters set from the directory on demand."""

from __future__ import annotations

import subprocess
import sys

from ldap3 import MODIFY_REPLACE

from iredapi_ldap import config as cfg
from iredapi_ldap.ldap import get_directory
from iredapi_ldap.models import counters
from iredapi_ldap.models.counter_queue import flush_pending
from iredapi_ldap.models.users.create import create_user
from tests.helpers import OTHER
from tests.helpers import PASSWORD
from tests.helpers import make_alias
from tests.helpers import make_domain
from tests.helpers import make_user

DOMAIN = "example.com"
MB = 1024 * 1024


def cli():
    return [sys.executable, "-m", "iredapi_ldap.cli"]


def stored(raw, domain=DOMAIN):
    entry = raw.entry(raw.domain_dn(domain))
    return {name: entry.get(name.lower(), [None])[0] for name in counters.COUNTED}


def drift(raw, domain, **values):
    changes = {name: [(MODIFY_REPLACE, [value])] for name, value in values.items()}
    assert raw.conn.modify(raw.domain_dn(domain), changes), raw.conn.result


def recount(ini, *domain):
    return subprocess.run([*cli(), "recount", "--config", str(ini), *domain],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_recount_repairs_one_domain_or_all_and_drops_what_workers_queued(
    api, app_config, make_app, raw, tmp_path
):
    """The command shares the workers' locks: a delta queued before it is not added again."""
    ini = tmp_path / "config.ini"
    cfg.write_ini(ini, app_config)
    make_domain(api)
    make_domain(api, OTHER)
    make_user(api, f"a@{DOMAIN}", quota="10")
    make_alias(api, f"x@{DOMAIN}")
    make_user(api, f"b@{OTHER}")
    worker = make_app(LDAP_COUNTER_FLUSH_SECONDS=60)
    with worker.app_context():
        create_user(get_directory(), f"c@{DOMAIN}", {"password": PASSWORD, "quota": 5},
                    worker.config)  # +1 user, +5 MB queued in the worker  # fmt: skip
    drift(raw, DOMAIN, domainCurrentUserNumber="40", domainCurrentQuotaSize="garbage")
    assert stored(raw)[counters.LISTS] is None  # no list yet: never counted
    drift(raw, OTHER, domainCurrentUserNumber="9")

    one = recount(ini, "Example.COM")
    assert one.returncode == 0, one.stderr
    assert one.stdout.splitlines() == [
        f"{DOMAIN}: domainCurrentUserNumber 40 -> 2; domainCurrentQuotaSize garbage -> "
        f"{15 * MB}; domainCurrentListNumber None -> 0",
        "re-counted 1 domain(s)",
    ]
    assert stored(raw) == {counters.USERS: "2", counters.QUOTA: str(15 * MB),
                           counters.ALIASES: "1", counters.LISTS: "0"}  # fmt: skip
    assert stored(raw, OTHER)[counters.USERS] == "9"  # only the domain named
    with worker.app_context():
        flush_pending(get_directory())
    assert stored(raw)[counters.USERS] == "2"  # c was counted by the command: not added again

    every = recount(ini)
    assert every.returncode == 0, every.stderr
    assert f"{OTHER}: domainCurrentUserNumber 9 -> 1" in every.stdout
    assert f"{DOMAIN}: already right" in every.stdout
    assert "re-counted 2 domain(s)" in every.stdout
    assert stored(raw, OTHER)[counters.USERS] == "1"


def test_recount_of_an_unknown_domain_fails_cleanly(api, app_config, raw, tmp_path):
    ini = tmp_path / "config.ini"
    cfg.write_ini(ini, app_config)
    result = recount(ini, "nowhere.test")
    assert result.returncode != 0
    assert "NO_SUCH_DOMAIN" in result.stderr and "nowhere.test" in result.stderr
    assert "Traceback" not in result.stderr
