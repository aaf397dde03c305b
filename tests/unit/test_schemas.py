"""Schemas and fields: names, syntax checks, multi-values, legacy names, unknown fields."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MultiDict

from iredapi_ldap.schemas.base import ErrorEnvelopeSchema
from iredapi_ldap.schemas.base import PageArgsSchema
from iredapi_ldap.schemas.domain import DomainCreateSchema
from iredapi_ldap.schemas.domain import DomainDeleteArgsSchema
from iredapi_ldap.schemas.domain import DomainListArgsSchema
from iredapi_ldap.schemas.domain import DomainSchema
from iredapi_ldap.schemas.domain import DomainUpdateSchema
from iredapi_ldap.schemas.fields import normalise_domain
from iredapi_ldap.schemas.fields import normalise_email


def errors_of(schema, data) -> dict:
    """Return the field errors a load raises (fails the test when it loads)."""
    with pytest.raises(ValidationError) as info:
        schema.load(data)
    return info.value.messages


# -- domain names and addresses ------------------------------------------------


@pytest.mark.parametrize(
    "given, expected",
    [
        ("example.com", "example.com"),
        ("EXAMPLE.Com", "example.com"),
        ("  a.b.example.org ", "a.b.example.org"),
        ("example.com.", "example.com"),
        ("xn--mnchen-3ya.de", "xn--mnchen-3ya.de"),
        ("mail.xn--p1ai", "mail.xn--p1ai"),
        ("a-b.c0.io", "a-b.c0.io"),
        ("1.example.com", "1.example.com"),
    ],
)
def test_valid_domain_names(given, expected):
    """Valid names are lower-cased and stripped; punycode IDNs pass."""
    assert normalise_domain(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "", "com", "münchen.de", "-a.com", "a-.com", "a..com", ".a.com", "a_b.com",
        "a b.com", "a.c", "a.123", "*.com", "a.com,b.com", "a.com)(x=*", "a\x00.com",
        "a.com/x", "a@b.com", "x" * 64 + ".com", ("a" * 60 + ".") * 5 + "com",
    ],
)  # fmt: skip
def test_invalid_domain_names(given):
    """Malformed names, raw Unicode and DN/filter metacharacters are refused."""
    with pytest.raises(ValidationError):
        normalise_domain(given)


@pytest.mark.parametrize(
    "given, expected",
    [
        ("User@Example.COM", "user@example.com"),
        (" a.b-c_d@x.org ", "a.b-c_d@x.org"),
        ("#x@x.org", "#x@x.org"),
        ("a&b@x.org", "a&b@x.org"),
    ],
)
def test_valid_addresses(given, expected):
    """Addresses are lower-cased; iRedAdmin's local-part characters pass."""
    assert normalise_email(given) == expected


@pytest.mark.parametrize(
    "given",
    ["", "a", "@x.org", "a@", "a+b@x.org", "a..b@x.org", "a.@x.org", ".a@x.org",
     "a b@x.org", "a,b@x.org", "*@x.org", "a@b@x.org", "ü@x.org", "a@x", "a\x00@x.org",
     "a)(mail=*@x.org"],
)  # fmt: skip
def test_invalid_addresses(given):
    """Malformed addresses and DN/filter metacharacters are refused."""
    with pytest.raises(ValidationError):
        normalise_email(given)


# -- domain create / update -----------------------------------------------------


def test_create_accepts_every_parameter():
    """A full create body loads with converted types."""
    loaded = DomainCreateSchema().load(
        {
            "name": "Example Inc.",
            "quota": "2048",
            "language": "de_DE",
            "transport": "lmtp:inet:127.0.0.1:24",
            "defaultQuota": "1024",
            "maxUserQuota": 0,
            "numberOfUsers": "-1",
            "numberOfAliases": "10",
            "numberOfLists": 3,
            "accountStatus": "Disabled",
            "minPasswordLength": "8",
            "maxPasswordLength": "64",
            "senderBcc": "Bcc@Example.com",
            "recipientBcc": "",
            "is_backupmx": "yes",
            "primarymx": "[192.0.2.1]:25",
            "outboundRelay": "smtp:[192.0.2.2]:587",
            "services": "mail, self-service",
        }
    )
    assert loaded == {
        "name": "Example Inc.",
        "quota": 2048,
        "language": "de_DE",
        "transport": "lmtp:inet:127.0.0.1:24",
        "defaultQuota": 1024,
        "maxUserQuota": 0,
        "numberOfUsers": -1,
        "numberOfAliases": 10,
        "numberOfLists": 3,
        "accountStatus": "disabled",
        "minPasswordLength": 8,
        "maxPasswordLength": 64,
        "senderBcc": "bcc@example.com",
        "recipientBcc": "",
        "is_backupmx": True,
        "primarymx": "[192.0.2.1]:25",
        "outboundRelay": "smtp:[192.0.2.2]:587",
        "services": ["mail", "self-service"],
    }


def test_legacy_names_are_mapped():
    """The 2016 names cn, mailQuota and preferredLanguage load as the current ones."""
    loaded = DomainCreateSchema().load(
        {"cn": "Old", "mailQuota": "10", "preferredLanguage": "fr_FR"}
    )
    assert loaded == {"name": "Old", "quota": 10, "language": "fr_FR"}


@pytest.mark.parametrize(
    "data, field",
    [({"cn": "a", "name": "b"}, "cn"), ({"mailQuota": 1, "quota": 2}, "mailQuota")],
)
def test_legacy_and_current_name_together_is_an_error(data, field):
    """Giving both spellings of one parameter names the legacy one."""
    assert field in errors_of(DomainCreateSchema(), data)


@pytest.mark.parametrize("schema", [DomainCreateSchema(), DomainUpdateSchema()])
def test_unknown_fields_are_errors(schema):
    """Unknown parameters are rejected by name, not ignored."""
    assert errors_of(schema, {"name": "x", "nmae": "y"}) == {"nmae": ["Unknown field."]}


@pytest.mark.parametrize(
    "field, value",
    [
        ("quota", "-1"), ("quota", "abc"), ("quota", "1.5"), ("quota", ""),
        ("defaultQuota", "-5"), ("maxUserQuota", "x"), ("numberOfUsers", "-2"),
        ("numberOfAliases", "1e3"), ("numberOfLists", "ten"), ("accountStatus", "enabled"),
        ("minPasswordLength", "-1"), ("maxPasswordLength", "257"),
        ("language", "english"), ("language", "en-US"), ("language", "en_us"),
        ("language", "*"), ("transport", ""), ("transport", "a b"), ("transport", "x,y"),
        ("transport", "dovecot)(x=*"), ("senderBcc", "not-an-address"),
        ("recipientBcc", "a,b@x.org"), ("is_backupmx", "maybe"), ("primarymx", "a b"),
        ("primarymx", "a,b"), ("outboundRelay", "smtp:(x)"), ("services", "mail,bogus"),
        ("services", "*"), ("name", "x" * 256), ("name", "a\x00b"),
    ],
)  # fmt: skip
def test_invalid_values_name_the_field(field, value):
    """Each bad value is reported under its own field name."""
    assert field in errors_of(DomainUpdateSchema(), {field: value})


def test_name_keeps_dn_and_filter_characters():
    """A description may hold , * ( ) and Unicode: it is never put in a DN or filter."""
    name = "Müller, Inc. (*EU*) #1 + co; =\\"
    assert DomainCreateSchema().load({"name": name}) == {"name": name}


def test_nul_is_refused_in_every_field_and_form_list():
    """A NUL in any value, even one item of a repeated form key, is an error."""
    form = MultiDictProxy(
        MultiDict([("services", "mail"), ("services", "self-service\x00")]),
        DomainUpdateSchema(),
    )
    assert "services" in errors_of(DomainUpdateSchema(), form)
    assert "name" in errors_of(DomainCreateSchema(), {"cn": "a\x00"})


def test_password_lengths_must_be_ordered():
    """minPasswordLength above maxPasswordLength is refused."""
    errors = errors_of(DomainCreateSchema(), {"minPasswordLength": 20, "maxPasswordLength": 10})
    assert "minPasswordLength" in errors
    assert DomainCreateSchema().load({"minPasswordLength": 8, "maxPasswordLength": 0})


@pytest.mark.parametrize("value", ["yes", "Yes", "y", "true", "1", 1, True, "on"])
def test_yes_values(value):
    """Every truthy spelling of is_backupmx loads as True."""
    assert DomainCreateSchema().load({"is_backupmx": value}) == {"is_backupmx": True}


@pytest.mark.parametrize("value", ["no", "NO", "n", "false", "0", 0, False, "off"])
def test_no_values(value):
    """Every falsy spelling of is_backupmx loads as False."""
    assert DomainCreateSchema().load({"is_backupmx": value}) == {"is_backupmx": False}


@pytest.mark.parametrize(
    "value, expected",
    [
        ("mail", ["mail"]),
        ("mail,self-service", ["mail", "self-service"]),
        (" MAIL , senderbcc ,, ", ["mail", "senderbcc"]),
        (["mail", "recipientbcc,domainalias"], ["mail", "recipientbcc", "domainalias"]),
        ("mail,mail", ["mail"]),
        ("", []),
        ([], []),
    ],
)
def test_multi_value_forms(value, expected):
    """Comma lists, JSON lists and mixtures give one de-duplicated, lower-cased list."""
    assert DomainUpdateSchema().load({"services": value}) == {"services": expected}


def test_multi_value_repeated_form_keys():
    """Repeated form keys are read as one list."""
    form = MultiDictProxy(
        MultiDict([("addService", "senderbcc"), ("addService", "recipientbcc")]),
        DomainUpdateSchema(),
    )
    assert DomainUpdateSchema().load(form) == {"addService": ["senderbcc", "recipientbcc"]}


def test_multi_value_lists_every_bad_item():
    """The error message names each rejected item."""
    errors = errors_of(DomainUpdateSchema(), {"disableDomainProfile": "bcc,nope,relay,zap"})
    assert errors == {"disableDomainProfile": ["Invalid value(s): nope, zap"]}


def test_multi_value_rejects_non_strings():
    """A JSON number or object inside a multi-value is an error."""
    assert "services" in errors_of(DomainUpdateSchema(), {"services": [1]})
    assert "services" in errors_of(DomainUpdateSchema(), {"services": {"a": 1}})


@pytest.mark.parametrize("other", ["addService", "removeService"])
def test_triad_replace_cannot_combine_with_add_or_remove(other):
    """services= replaces the set, so addService/removeService beside it is an error."""
    errors = errors_of(DomainUpdateSchema(), {"services": "mail", other: "senderbcc"})
    assert list(errors) == ["services"]


def test_triad_add_and_remove_together_are_fine():
    """addService and removeService may be combined."""
    loaded = DomainUpdateSchema().load({"addService": "senderbcc", "removeService": "mail"})
    assert loaded == {"addService": ["senderbcc"], "removeService": ["mail"]}


def test_profile_toggles_only_on_update():
    """The disable*/enable* toggles belong to updates; create refuses them."""
    assert "disableDomainProfile" in errors_of(
        DomainCreateSchema(), {"disableDomainProfile": "bcc"}
    )
    loaded = DomainUpdateSchema().load(
        {
            "disableDomainProfile": "bcc,backupmx",
            "enableDomainProfile": "relay",
            "disableUserProfile": "forwarding",
            "enableUserProfile": "wblist",
            "disableUserPreference": "personal_info",
            "enableUserPreference": "quarantine",
        }
    )
    assert loaded["disableDomainProfile"] == ["bcc", "backupmx"]
    assert loaded["enableUserPreference"] == ["quarantine"]


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_bcc_means_clear(value):
    """An empty senderBcc loads as "" (remove)."""
    assert DomainUpdateSchema().load({"senderBcc": value}) == {"senderBcc": ""}


def test_empty_outbound_relay_means_clear():
    """An empty outboundRelay is allowed and means "disable"."""
    assert DomainUpdateSchema().load({"outboundRelay": ""}) == {"outboundRelay": ""}


# -- query arguments -------------------------------------------------------------


def test_list_args_defaults():
    """name_only and disabled_only default to False."""
    assert DomainListArgsSchema().load({}) == {"name_only": False, "disabled_only": False}


@pytest.mark.parametrize(
    "data, field",
    [
        ({"page": "0"}, "page"),
        ({"page_size": "0"}, "page_size"),
        ({"offset": "-1"}, "offset"),
        ({"limit": "0"}, "limit"),
        ({"page": "x"}, "page"),
        ({"page": "1", "offset": "0"}, "page"),
        ({"page_size": "5", "limit": "5"}, "page"),
        ({"sort": "name"}, "sort"),
    ],
)
def test_page_args_errors(data, field):
    """Bad paging values, mixed styles and unknown keys are refused by name."""
    assert field in errors_of(PageArgsSchema(), data)


def test_delete_args_range():
    """keep_mailbox_days is 0..1095."""
    assert DomainDeleteArgsSchema().load({"keep_mailbox_days": "0"}) == {"keep_mailbox_days": 0}
    assert "keep_mailbox_days" in errors_of(DomainDeleteArgsSchema(), {"keep_mailbox_days": 1096})


# -- output ---------------------------------------------------------------------------


def test_domain_schema_dumps_api_names():
    """The output schema keeps API names and types."""
    dumped = DomainSchema().dump({"domain": "a.com", "quota": 5, "services": ["mail"]})
    assert dumped == {"domain": "a.com", "quota": 5, "services": ["mail"]}


def test_error_envelope_fields():
    """The error envelope documents success/_success/msg/_msg/detail/errors."""
    assert set(ErrorEnvelopeSchema().fields) == {
        "success", "_success", "msg", "_msg", "detail", "errors",
    }  # fmt: skip
