"""Domain input validation: 400 naming the field, and nothing changed in the directory."""

from __future__ import annotations

import pytest

from tests.helpers import assert_error

EXISTING = "exists.example"


@pytest.fixture
def api(module_api):
    """Share one app across this module (building an app per test is the slow part)."""
    return module_api


@pytest.fixture
def existing(api, raw):
    """Create one domain and return the directory snapshot taken after it."""
    response = api.post(f"/api/domain/{EXISTING}", data={"name": "Kept", "quota": "10"})
    assert response.status_code == 201, response.json
    return raw.snapshot()


def assert_400(response, field, code="INVALID_PARAMETERS"):
    """Assert the 400 envelope and that `errors`, and the detail too, name the field."""
    body = assert_error(response, 400, code, field)
    assert field in body["detail"] or code == "INVALID_DOMAIN_NAME"
    return body


# -- domain names in the path ------------------------------------------------------------

BAD_PATH_NAMES = [
    "localhost", "-a.example", "a-.example", "a..example", "a_b.example", "a.c",
    "a.123", "*", "%2A.example", "a.example)(domainName=*", "a,b.example",
    "a+b.example", "%23a.example", "a%00.example", "m%C3%BCnchen.de", "a%20b.example",
    "%5Ca.example", "a=b.example", "x" * 64 + ".example", "a@b.example",
]  # fmt: skip


@pytest.mark.parametrize("name", BAD_PATH_NAMES)
def test_invalid_domain_in_path(api, raw, existing, name):
    """A malformed domain in the path is 400 INVALID_DOMAIN_NAME naming `domain`, for every method."""
    for method in ("get", "post", "put", "delete"):
        response = getattr(api, method)(f"/api/domain/{name}")
        assert_400(response, "domain", code="INVALID_DOMAIN_NAME")
    assert raw.snapshot() == existing


def test_invalid_domain_in_keep_days_path(api, raw, existing):
    """The keep_mailbox_days route validates the domain too."""
    assert_400(api.delete("/api/domain/a,b/keep_mailbox_days/3"), "domain", "INVALID_DOMAIN_NAME")
    assert raw.snapshot() == existing


def test_punycode_accepted_and_unicode_refused(api, raw):
    """xn-- names are accepted; the raw Unicode spelling is refused with a hint."""
    assert api.post("/api/domain/xn--mnchen-3ya.de").status_code == 201
    assert raw.entry(raw.domain_dn("xn--mnchen-3ya.de")) is not None
    body = assert_400(api.post("/api/domain/m%C3%BCnchen.de"), "domain", "INVALID_DOMAIN_NAME")
    assert "punycode" in body["errors"]["domain"][0]


def test_uppercase_path_is_lowered(api, raw, existing):
    """Paths are case-insensitive: PUT via an upper-case name changes the stored domain."""
    assert api.put("/api/domain/EXISTS.Example", data={"name": "New"}).status_code == 200
    assert raw.attrs(raw.domain_dn(EXISTING))["cn"] == ["New"]


# -- body values ---------------------------------------------------------------------------

BAD_VALUES = [
    ("quota", "-1"), ("quota", "-100"), ("quota", "1.5"), ("quota", "ten"), ("quota", "1e3"),
    ("quota", ""), ("mailQuota", "-1"), ("defaultQuota", "-1"), ("maxUserQuota", "x"),
    ("numberOfUsers", "-2"), ("numberOfAliases", "a"), ("numberOfLists", "1.0.0"),
    ("minPasswordLength", "-1"), ("maxPasswordLength", "1000"),
    ("accountStatus", "enabled"), ("accountStatus", "*"),
    ("language", "xx-YY"), ("language", "english"), ("language", "*"), ("language", "en_US)"),
    ("preferredLanguage", "e"),
    ("transport", "a b"), ("transport", "dove,cot"), ("transport", "dovecot)(x=*"),
    ("transport", "*"), ("transport", "dove\x00cot"), ("transport", "x" * 256),
    ("senderBcc", "bcc"), ("senderBcc", "a@b"), ("senderBcc", "*@x.example"),
    ("senderBcc", "a,b@x.example"), ("senderBcc", "a)(mail=*@x.example"),
    ("senderBcc", "a\x00@x.example"), ("recipientBcc", "r@ü.example"),
    ("is_backupmx", "maybe"), ("primarymx", "mx(1)"), ("primarymx", "a,b"),
    ("outboundRelay", "smtp:[1.2.3.4]:25,x"), ("outboundRelay", "*"),
    ("services", "mail,unknown"), ("services", "*"), ("services", "mail\x00"),
    ("name", "a\x00b"), ("cn", "x" * 256),
]  # fmt: skip
FIELD_OF = {"mailQuota": "quota", "preferredLanguage": "language", "cn": "name"}


def reported_field(field: str) -> str:
    """Return the name under which a (possibly legacy) field's error is reported."""
    return FIELD_OF.get(field, field)


@pytest.mark.parametrize("field, value", BAD_VALUES)
def test_bad_value(api, raw, existing, field, value):
    """A bad value is 400 naming the field, as a create form and an update JSON; nothing changes."""
    assert_400(api.post("/api/domain/new.example", data={field: value}), reported_field(field))
    response = api.put(f"/api/domain/{EXISTING}", json={"defaultQuota": 7, field: value})
    assert_400(response, reported_field(field))
    assert raw.snapshot() == existing


@pytest.mark.parametrize(
    "body, field",
    [
        ({"quota": True}, "quota"),
        ({"quota": [1]}, "quota"),
        ({"quota": {"a": 1}}, "quota"),
        ({"name": ["a", "b"]}, "name"),
        ({"name": 5}, "name"),
        ({"services": [1, 2]}, "services"),
        ({"accountStatus": None}, "accountStatus"),
    ],
)
def test_wrong_json_types(api, raw, existing, body, field):
    """JSON values of the wrong type are 400 naming the field."""
    assert_400(api.put(f"/api/domain/{EXISTING}", json=body), field)
    assert raw.snapshot() == existing


@pytest.mark.parametrize("body", [[1, 2], "quota=5", 5, True])
def test_json_body_must_be_an_object(api, raw, existing, body):
    """A JSON body that is not an object is 400."""
    response = api.put(f"/api/domain/{EXISTING}", json=body)
    assert response.status_code == 400, response.json
    assert response.json["msg"] == "INVALID_PARAMETERS"
    assert raw.snapshot() == existing


# -- unknown parameters ---------------------------------------------------------------------


def test_unknown_form_parameter(api, raw, existing):
    """An unknown form parameter is 400 naming it; nothing is created."""
    body = assert_400(
        api.post("/api/domain/new.example", data={"name": "x", "quotaa": "5"}), "quotaa"
    )
    assert body["errors"]["quotaa"] == ["Unknown field."]
    assert raw.snapshot() == existing


def test_unknown_json_parameter(api, raw, existing):
    """An unknown JSON parameter on update is 400 naming it; nothing changes."""
    assert_400(
        api.put(f"/api/domain/{EXISTING}", json={"name": "x", "catchAllz": "a@b.c"}), "catchAllz"
    )
    assert raw.snapshot() == existing


def test_update_only_parameter_refused_on_create(api, raw, existing):
    """addService belongs to updates; on create it is an unknown field."""
    assert_400(api.post("/api/domain/new.example", data={"addService": "mail"}), "addService")
    assert raw.snapshot() == existing


@pytest.mark.parametrize(
    "query, field",
    [
        ("bogus=1", "bogus"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("page_size=-1", "page_size"),
        ("offset=-1", "offset"),
        ("limit=0", "limit"),
        ("page=1&offset=5", "page"),
        ("name_only=perhaps", "name_only"),
        ("disabled_only=%2A", "disabled_only"),
    ],
)
def test_bad_query_parameters(api, existing, query, field):
    """Unknown or bad query parameters of GET /api/domains are 400 naming them."""
    assert_400(api.get(f"/api/domains?{query}"), field)


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_unknown_query_parameter_on_a_domain(api, raw, existing, method):
    """A query string the route does not declare is 400 naming the parameter; nothing changes."""
    assert_400(getattr(api, method)(f"/api/domain/{EXISTING}?bogus=1"), "bogus")
    assert raw.snapshot() == existing


def test_legacy_and_new_name_together(api, raw, existing):
    """cn and name together are ambiguous: 400 naming cn."""
    assert_400(api.post("/api/domain/new.example", data={"cn": "a", "name": "b"}), "cn")
    assert raw.snapshot() == existing


def test_several_bad_fields_all_named(api, raw, existing):
    """Every rejected field is listed, not just the first."""
    body = assert_400(
        api.post("/api/domain/new.example", data={"quota": "-1", "language": "x", "bogus": "1"}),
        "quota",
    )
    assert set(body["errors"]) == {"quota", "language", "bogus"}
    assert raw.snapshot() == existing


def test_password_lengths_inverted(api, raw, existing):
    """minPasswordLength above maxPasswordLength is 400 naming minPasswordLength."""
    response = api.put(f"/api/domain/{EXISTING}", data={"minPasswordLength": "20",
                                                       "maxPasswordLength": "10"})  # fmt: skip
    assert_400(response, "minPasswordLength")
    assert raw.snapshot() == existing


def test_name_with_dn_and_filter_characters_is_stored_verbatim(api, raw, existing):
    """A description is data, never DN or filter syntax: , * ( ) \\ are kept as given."""
    name = "a,b*c(d)e\\f=g+h#i"
    assert api.put(f"/api/domain/{EXISTING}", json={"name": name}).status_code == 200
    assert raw.attrs(raw.domain_dn(EXISTING))["cn"] == [name]


def test_min_password_length_above_stored_max_is_refused(api, raw):
    """minPasswordLength is checked against the stored maxPasswordLength too."""
    assert api.post("/api/domain/pl.test", data={"maxPasswordLength": "5"}).status_code == 201
    response = api.put("/api/domain/pl.test", data={"minPasswordLength": "10"})
    assert response.status_code == 400
    assert "minPasswordLength" in response.json["errors"]
    assert "minPasswordLength:10" not in raw.entry(raw.domain_dn("pl.test")).get(
        "accountsetting", []
    )


def test_leaving_backup_mx_keeps_a_custom_transport(api, raw):
    """is_backupmx=no on a normal domain does not reset its own mtaTransport."""
    assert (
        api.post(
            "/api/domain/bt.test", data={"transport": "lmtp:unix:private/dovecot-lmtp"}
        ).status_code
        == 201
    )
    assert api.put("/api/domain/bt.test", data={"is_backupmx": "no"}).status_code == 200
    assert raw.entry(raw.domain_dn("bt.test"))["mtatransport"] == ["lmtp:unix:private/dovecot-lmtp"]
