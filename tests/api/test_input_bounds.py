"""Input held to its real grammar and size: 400 naming the field, and nothing written.

Transports and relay hosts follow Postfix's transport(5) grammar, one-line text refuses
control characters and line separators, mlmmj header lines are RFC 5322 fields, and no
multi-valued field takes more than [api] max_values_per_field items.
"""

from __future__ import annotations

import pytest

from tests.helpers import alias_dn
from tests.helpers import assert_error
from tests.helpers import make_domain
from tests.helpers import make_user

DOMAIN = "example.com"
MAIL = f"john@{DOMAIN}"
LIST = f"team@{DOMAIN}"


@pytest.fixture
def spool(app, mlmmj_spool):
    """Point the app at an mlmmj spool in the test's tmp directory; return the spool."""
    spool, archive = mlmmj_spool
    app.config.update(MLMMJ_SPOOL_DIR=str(spool), MLMMJ_ARCHIVE_DIR=str(archive))
    return spool


@pytest.fixture
def john(api):
    """example.com with the mail user john."""
    make_domain(api)
    make_user(api, MAIL)


def spool_state(spool):
    """Every file below the spool with its content."""
    return {str(p.relative_to(spool)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(spool.rglob("*"))}  # fmt: skip


def refused(response, field, *names):
    """Assert a 400 INVALID_PARAMETERS naming the field (and the given words in its message)."""
    assert_error(response, 400, "INVALID_PARAMETERS", field, names)


# -- items per multi-valued field --------------------------------------------------------


def test_20000_forwarding_addresses_are_refused(api, raw, john):
    """One request with 20,000 forwarding addresses is 400 and the mailbox is untouched."""
    before = raw.snapshot()
    value = ",".join(f"f{i}@example.org" for i in range(20000))
    response = api.put(f"/api/user/{MAIL}", data={"forwarding": value})
    refused(response, "forwarding", "At most 1000 values", "20000")
    assert raw.snapshot() == before


def test_1001_values_are_refused_and_1000_accepted(api, raw, john):
    """At the default cap of 1,000: 1,001 repeated form values are 400, 1,000 are stored."""
    addresses = [f"f{i}@example.org" for i in range(1001)]
    before = raw.snapshot()
    response = api.put(f"/api/user/{MAIL}", data={"addForwarding": addresses})
    refused(response, "addForwarding", "At most 1000 values", "1001")
    assert raw.snapshot() == before
    response = api.put(f"/api/user/{MAIL}", json={"forwarding": addresses[:1000]})
    assert response.status_code == 200, response.json
    stored = raw.entry(raw.user_dn(MAIL))["mailforwardingaddress"]
    assert sorted(stored) == sorted(addresses[:1000])


def test_the_cap_is_read_from_the_config(api, app, raw):
    """[api] max_values_per_field applies at once to every multi-valued field."""
    make_domain(api)
    app.config["API_MAX_VALUES_PER_FIELD"] = 5
    members = [f"m{i}@example.org" for i in range(6)]
    before = raw.snapshot()
    refused(api.post(f"/api/alias/all@{DOMAIN}", data={"members": members}), "members", "At most 5")
    refused(api.put(f"/api/domain/{DOMAIN}", data={"catchall": members}), "catchall", "At most 5")
    assert raw.snapshot() == before
    response = api.post(f"/api/alias/all@{DOMAIN}", data={"members": members[:5]})
    assert response.status_code == 201, response.json
    assert len(raw.entry(alias_dn(raw, f"all@{DOMAIN}"))["mailforwardingaddress"]) == 5


# -- Postfix transports and relay hosts ------------------------------------------------------

BAD_TRANSPORTS = ["a+b", "x..y:", "-1", "smtp:[192.0.2.1]:99999", "relay:a:b:c:d",
                  "smtp:2001:db8::1", "lmtp:unix:../../run/x", "mlmmj:example.com/team"]  # fmt: skip


@pytest.mark.parametrize("value", BAD_TRANSPORTS)
@pytest.mark.parametrize(
    "path, method", [(f"/api/domain/{DOMAIN}", "put"), (f"/api/user/{MAIL}", "put"),
                     (f"/api/users/{DOMAIN}", "put"), (f"/api/domain/new.{DOMAIN}", "post")],
)  # fmt: skip
def test_transport_outside_postfix_grammar_is_400(api, raw, john, path, method, value):
    """Domain, user and bulk transports refuse what Postfix would not read; nothing changes."""
    before = raw.snapshot()
    refused(getattr(api, method)(path, data={"transport": value}), "transport", "Postfix transport")
    assert raw.snapshot() == before


@pytest.mark.parametrize(
    "value", ["dovecot", "lmtp:unix:private/dovecot-lmtp", "lmtp:inet:127.0.0.1:24",
              "smtp:[192.0.2.1]:25", "relay:[2001:db8::25]:2525", "relay:mx1.example.net"],
)  # fmt: skip
def test_transports_iredmail_uses_are_stored(api, raw, john, value):
    """The transports iRedMail writes are accepted and stored as given."""
    response = api.put(f"/api/user/{MAIL}", data={"transport": value})
    assert response.status_code == 200, response.json
    assert raw.entry(raw.user_dn(MAIL))["mtatransport"] == [value]
    response = api.put(f"/api/domain/{DOMAIN}", data={"transport": value})
    assert response.status_code == 200, response.json
    assert raw.entry(raw.domain_dn(DOMAIN))["mtatransport"] == [value]


@pytest.mark.parametrize(
    "data, field",
    [
        ({"is_backupmx": "yes", "primarymx": "smtp:[192.0.2.5]:25"}, "primarymx"),
        ({"is_backupmx": "yes", "primarymx": "[192.0.2.5]:70000"}, "primarymx"),
        ({"outboundRelay": "smtp:[192.0.2.5]:0"}, "outboundRelay"),
        ({"outboundRelay": "smtp:"}, "outboundRelay"),
        ({"outboundRelay": "lmtp:unix:private/x"}, "outboundRelay"),
    ],
)
def test_relay_hosts_outside_the_grammar_are_400(api, raw, john, data, field):
    """primarymx is a bare destination (it follows relay:); outboundRelay needs a host."""
    before = raw.snapshot()
    refused(api.put(f"/api/domain/{DOMAIN}", data=data), field)
    assert raw.snapshot() == before


# -- one-line text ----------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\n", "\r", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"])
@pytest.mark.parametrize(
    "path, field",
    [(f"/api/user/{MAIL}", "name"), (f"/api/user/{MAIL}", "gn"), (f"/api/user/{MAIL}", "sn"),
     (f"/api/user/{MAIL}", "employeeid"), (f"/api/domain/{DOMAIN}", "name")],
)  # fmt: skip
def test_one_line_fields_refuse_separators_and_controls(api, raw, john, path, field, char):
    """A line break, C0/C1 control or U+2028/9 inside a one-line field is 400; LDAP unchanged."""
    before = raw.snapshot()
    refused(api.put(path, json={field: f"John{char}Smith"}), field, f"U+{ord(char):04X}")
    assert raw.snapshot() == before


def test_alias_and_admin_names_refuse_separators(api, raw, john):
    """Creating an alias or an admin with a U+2028 in a name writes nothing."""
    before = raw.snapshot()
    refused(api.post(f"/api/alias/sales@{DOMAIN}", json={"name": "Sales\u2028Bcc"}), "name")
    refused(api.post(f"/api/maillist/list@{DOMAIN}", json={"name": "List\x1b[2J"}), "name")
    body = {"password": "Secret-Pass-123", "firstName": "Eve\x85Bcc"}
    refused(api.post("/api/admin/eve@admins.test", json=body), "firstName")
    assert raw.snapshot() == before


# -- mlmmj header lines -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, shown",
    [
        ("X-Team: sales\nX-B: v\rBcc: evil@example.org", "line 2: X-B: v\\rBcc: evil@example.org"),
        ("X Team: sales", "line 1: X Team: sales"),
        ("X-Team\x0b: sales", "line 1: X-Team\\x0b: sales"),
        ("X-Team: a\u2028Bcc: evil@example.org", "line 1: X-Team: a\\u2028Bcc"),
        ("Xé: v", "line 1: X\\xe9: v"),
    ],
)
def test_custom_headers_outside_rfc_5322_are_400(api, raw, spool, value, shown):
    """A bad header line is refused by number; the list entry and control files stay as they were."""
    make_domain(api)
    created = api.post(f"/api/ml/{LIST}", data={"custom_headers": "X-Team: sales"})
    assert created.status_code == 201, created.json
    before, files = raw.snapshot(), spool_state(spool)
    refused(api.put(f"/api/ml/{LIST}", data={"custom_headers": value}), "custom_headers", shown)
    assert raw.snapshot() == before and spool_state(spool) == files
    customheaders = spool / DOMAIN / "team" / "control" / "customheaders"
    assert customheaders.read_text().startswith("X-Team: sales\n")
