"""Schemas and fields: names, syntax checks, multi-values, legacy names, unknown fields."""

from __future__ import annotations

import pytest
from flask import Flask
from marshmallow import ValidationError
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MultiDict

from iredapi_ldap.schemas.base import BaseSchema
from iredapi_ldap.schemas.base import ErrorEnvelopeSchema
from iredapi_ldap.schemas.base import PageArgsSchema
from iredapi_ldap.schemas.domain import DomainCreateSchema
from iredapi_ldap.schemas.domain import DomainDeleteArgsSchema
from iredapi_ldap.schemas.domain import DomainListArgsSchema
from iredapi_ldap.schemas.domain import DomainSchema
from iredapi_ldap.schemas.domain import DomainUpdateSchema
from iredapi_ldap.schemas.fields import normalise_domain
from iredapi_ldap.schemas.fields import normalise_email
from iredapi_ldap.schemas.ml import MlUpdateSchema
from iredapi_ldap.schemas.token import TokenCreateSchema
from iredapi_ldap.schemas.user import UserUpdateSchema
from iredapi_ldap.schemas.users import UsersBulkUpdateSchema


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


# -- grammars: Postfix transports and relay hosts ------------------------------------

VALID_TRANSPORTS = [
    "dovecot", "lmtp:unix:private/dovecot-lmtp", "lmtp:inet:127.0.0.1:24", "smtp:[1.2.3.4]:25",
    "relay:[192.0.2.5]:25", "relay:mx1.example.net", "relay:example.com", "smtp:[192.0.2.1]",
    "smtp:", "smtp:mx.example.com:587", "smtp:[2001:db8::1]:25", "lmtp:inet:[::1]:24",
    "lmtp:unix:/var/run/dovecot/lmtp", "my_relay.2:[mail.example.org]", "uucp:localhost",
    "relay:[mx.example.com]:65535",
]  # fmt: skip
INVALID_TRANSPORTS = [
    "a+b", "x..y", "x..y:", "-1", ".hidden", "smtp: [1.2.3.4]", "smtp:[1.2.3.4]:0",
    "smtp:[1.2.3.4]:65536", "smtp:[1.2.3.4]:99999", "smtp:[1.2.3.4]:x", "relay:a:b:c:d",
    "smtp:2001:db8::1", "smtp:[2001:db8::1%eth0]", "smtp:[1.2.3.4", "smtp:1.2.3.4]",
    "smtp:[[1.2.3.4]]", "lmtp:unix:../../etc/passwd", "lmtp:unix:private/../x", "lmtp:unix:",
    "lmtp:inet:", "smtp:mx_1.example.com", "smtp:-mx.example.com", "smtp:a,b",
    "smtp:[1.2.3.4], [5.6.7.8]", "smtp:999.1.1.1", ":[1.2.3.4]", "dove cot", "dove\x85cot",
    "smtp:[1.2.3.4]\u2028:25", "mlmmj:example.com/team", "dovecot)(x=*", "*", "x" * 65,
    "smtp:" + "a" * 64 + ".com", "relay:" + "a." * 130 + "com",
]  # fmt: skip


@pytest.mark.parametrize("value", VALID_TRANSPORTS)
@pytest.mark.parametrize("schema", [DomainCreateSchema, UserUpdateSchema, UsersBulkUpdateSchema])
def test_transports_iredmail_writes_are_valid(schema, value):
    """iRedMail's transports (dovecot, lmtp:unix:..., smtp:[ip]:25, relay:...) load unchanged."""
    assert schema().load({"transport": value}) == {"transport": value}


@pytest.mark.parametrize("value", INVALID_TRANSPORTS)
@pytest.mark.parametrize("schema", [DomainCreateSchema, UserUpdateSchema, UsersBulkUpdateSchema])
def test_transport_outside_postfix_grammar_is_refused(schema, value):
    """'+', '..', a leading '-', bad ports, bare IPv6, paths out of place, spaces are refused."""
    assert "transport" in errors_of(schema(), {"transport": value})


def test_empty_transport_removes_on_users_only():
    """An empty user transport means "use the domain's"; a domain always needs one."""
    assert UserUpdateSchema().load({"transport": ""}) == {"transport": ""}
    assert UsersBulkUpdateSchema().load({"transport": ""}) == {"transport": ""}
    assert "transport" in errors_of(DomainUpdateSchema(), {"transport": ""})


@pytest.mark.parametrize(
    "value",
    ["mx1.example.net", "[192.0.2.5]:25", "192.0.2.5", "[mx.example.net]", "mx:2525",
     "[2001:db8::25]:25"],
)  # fmt: skip
def test_primary_mx_is_a_destination(value):
    """primarymx is host, [host], host:port or [host]:port (it goes after relay:)."""
    assert DomainUpdateSchema().load({"primarymx": value}) == {"primarymx": value}


@pytest.mark.parametrize(
    "value",
    ["smtp:[192.0.2.5]:25", "[192.0.2.5]:0", "mx:70000", "a:b:c", "mx\u2028.example", "[x", "mx..a",
     "2001:db8::25", ""],
)  # fmt: skip
def test_primary_mx_outside_the_grammar_is_refused(value):
    """A transport prefix (relay:smtp:... breaks Postfix), bad ports and separators are refused."""
    assert "primarymx" in errors_of(DomainUpdateSchema(), {"primarymx": value})


@pytest.mark.parametrize(
    "value",
    ["smtp:[192.0.2.2]:587", "[192.0.2.2]:25", "relay.example.com", "relay:[mx.example.com]",
     "smtp:[2001:db8::1]:25", ""],
)  # fmt: skip
def test_outbound_relay_grammar(value):
    """outboundRelay is a destination, optionally after transport:; empty removes it."""
    assert DomainUpdateSchema().load({"outboundRelay": value}) == {"outboundRelay": value}


@pytest.mark.parametrize(
    "value",
    ["smtp:", "smtp:[1.2.3.4]:99999", "a+b:[1.2.3.4]", "lmtp:unix:private/x", "smtp:a b",
     "-x:[1.2.3.4]", "smtp:[1.2.3.4]\x0b:25"],
)  # fmt: skip
def test_outbound_relay_outside_the_grammar_is_refused(value):
    """No empty host, no unix: path, no bad port or transport name, no controls."""
    assert "outboundRelay" in errors_of(DomainUpdateSchema(), {"outboundRelay": value})


# -- grammars: mlmmj custom header lines ---------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("X-Team: sales", ["X-Team: sales"]),
        ("X-Team:sales", ["X-Team: sales"]),
        ("X-A: 1\nX-B: 2", ["X-A: 1", "X-B: 2"]),
        ("X-A: 1\r\n\r\nX-B: 2\\nX-C: 3", ["X-A: 1", "X-B: 2", "X-C: 3"]),
        (["X-A: 1", "X-A: 1"], ["X-A: 1"]),
        ("X-Tab:\tvalue\twith tab", ["X-Tab: value\twith tab"]),
        ("Reply-To: <list@example.com>", ["Reply-To: <list@example.com>"]),
        ("X-UTF8: Grüße", ["X-UTF8: Grüße"]),
        ("!#$%&'*+-.^_`|~;<=>?@[]{}: odd but RFC 5322", ["!#$%&'*+-.^_`|~;<=>?@[]{}: odd but RFC 5322"]),
        ("", []),
    ],
)  # fmt: skip
def test_header_lines_in_rfc_5322_form(value, expected):
    """Names of printable ASCII without ':' and values without controls load as `Name: value`."""
    assert MlUpdateSchema().load({"custom_headers": value}) == {"custom_headers": expected}


@pytest.mark.parametrize(
    "value, line",
    [
        ("no colon here", "line 1: no colon here"),
        ("X A: v", "line 1: X A: v"),
        ("X-A : v", "line 1: X-A : v"),
        (": v", "line 1: : v"),
        ("Xé: v", "line 1: X\\xe9: v"),
        ("X-A\x0b: v", "line 1: X-A\\x0b: v"),
        ("X-A: 1\n\x1cX-B: v", "line 2: \\x1cX-B: v"),
        ("X-A: 1\nX-B: v\rBcc: evil@example.org", "line 2: X-B: v\\rBcc: evil@example.org"),
        ("X-A: a\u2028b", "line 1: X-A: a\\u2028b"),
        ("X-A: a\u2029b", "line 1: X-A: a\\u2029b"),
        ("X-A: a\x85b", "line 1: X-A: a\\x85b"),
        ("X-A: a\x1bb", "line 1: X-A: a\\x1bb"),
        ("X-A: a\x7fb", "line 1: X-A: a\\x7fb"),
        ("X-A: 1\n\nX-B: a\x0cb", "line 3: X-B: a\\x0cb"),
        ("X" * 77 + ": v", "line 1: " + "X" * 72),
        ("X-Long: " + "v" * 991, "line 1: X-Long: vvv"),
    ],
)  # fmt: skip
def test_header_lines_outside_rfc_5322_are_refused_by_line(value, line):
    """A bad name or a value with a control character is refused, naming the line."""
    errors = errors_of(MlUpdateSchema(), {"custom_headers": value})
    assert list(errors) == ["custom_headers"]
    assert line in errors["custom_headers"][0]


# -- one-line text: every field of every request schema ------------------------------

# Every line boundary str.splitlines() knows, and other C0/C1 controls.
LINE_BREAKERS = ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
CONTROLS = ["\x01", "\x1b", "\x1f", "\x7f", "\x80", "\x9b", "\x9f"]
SECRETS = {"password", "password_hash", "oldPassword", "securityAnswer"}
# Multi-line by nature; they keep TAB, LF, CR and U+2028/9 but refuse the other controls.
MULTI_LINE = {"footer_text", "footer_html", "newsletter_description"}


def request_schemas() -> list[type[BaseSchema]]:
    """Return every request schema class (BaseSchema subclasses), the login schema included."""
    import importlib
    import pkgutil

    import iredapi_ldap.api
    import iredapi_ldap.schemas

    for package in (iredapi_ldap.schemas, iredapi_ldap.api):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    found, todo = [], [BaseSchema]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def text_fields():
    """Yield (schema class, field name) for every non-secret request field."""
    for cls in request_schemas():
        for name in cls._declared_fields:
            if name not in SECRETS:
                yield pytest.param(cls, name, id=f"{cls.__name__}.{name}")


def test_the_walk_finds_the_text_fields():
    """The walk below reaches the one-line fields of every resource (and LoginSchema)."""
    walked = {param.id for param in text_fields()}
    for expected in ("UserUpdateSchema.gn", "UserUpdateSchema.employeeid",
                     "UserUpdateSchema.telephoneNumber", "DomainCreateSchema.name",
                     "AliasUpdateSchema.name", "MaillistCreateSchema.name",
                     "MlProfileSchema.subject_prefix", "AdminUpdateSchema.firstName",
                     "TokenCreateSchema.name", "LogArgsSchema.action", "LoginSchema.username",
                     "UsersBulkUpdateSchema.transport", "UserListArgsSchema.search"):  # fmt: skip
        assert expected in walked


@pytest.mark.parametrize("schema, field", list(text_fields()))
def test_no_field_takes_a_line_break_or_control_character(schema, field):
    """Every request field refuses C0, DEL, C1 and U+2028/U+2029 inside a value."""
    characters = CONTROLS + (["\x00", "\x0b", "\x1c", "\x85"] if field in MULTI_LINE else LINE_BREAKERS)  # fmt: skip
    for char in characters:
        errors = errors_of(schema(), {field: f"abc{char}def"})
        assert field in errors, (char, errors)


@pytest.mark.parametrize("field", sorted(MULTI_LINE))
def test_multi_line_fields_keep_line_breaks(field):
    """Footers and the newsletter description may span lines (TAB, LF, CR kept)."""
    text = "Line one\r\n\tLine two\nLine three"
    assert MlUpdateSchema().load({field: text}) == {field: text}


@pytest.mark.parametrize(
    "schema, field, value",
    [
        (UserUpdateSchema, "name", "Jöhn Smith-Müller, Jr. (Ops) #1 + 東京"),
        (UserUpdateSchema, "employeeid", "E-1234/5"),
        (DomainCreateSchema, "name", "Müller, Inc. (*EU*) #1 + co; =\\"),
        (MlUpdateSchema, "subject_prefix", "[sales] «news»"),
        (TokenCreateSchema, "name", "deploy bot – CI\u00a0runner"),
    ],
)
def test_one_line_text_keeps_printable_unicode(schema, field, value):
    """Printable Unicode (incl. NBSP, punctuation, CJK) passes; only controls are refused."""
    assert schema().load({field: value})[field] == value


def test_control_character_error_names_the_character():
    """The message says which character was refused and where."""
    errors = errors_of(UserUpdateSchema(), {"name": "John\u2028Smith"})
    assert errors == {"name": ["Must not contain line breaks or control characters (U+2028 at 5)."]}


# -- the cap on items per multi-valued field -----------------------------------------


def multi_valued_fields():
    """Yield (schema class, field name) for every multi-valued request field."""
    for cls in request_schemas():
        for name, field in cls._declared_fields.items():
            if getattr(field, "is_multiple", False):
                yield pytest.param(cls, name, id=f"{cls.__name__}.{name}")


def test_default_cap_is_1000_values():
    """Without an app the default [api] max_values_per_field (1000) applies."""
    addresses = [f"a{i}@example.org" for i in range(1001)]
    loaded = UserUpdateSchema().load({"forwarding": addresses[:1000]})
    assert len(loaded["forwarding"]) == 1000
    errors = errors_of(UserUpdateSchema(), {"forwarding": addresses})
    assert errors == {"forwarding": ["At most 1000 values may be given; 1001 were."]}


def test_20000_forwarding_addresses_are_refused_as_a_comma_list():
    """20,000 addresses in one comma-separated value are refused before any is checked."""
    value = ",".join(f"a{i}@example.org" for i in range(20000))
    errors = errors_of(UserUpdateSchema(), {"forwarding": value})
    assert errors == {"forwarding": ["At most 1000 values may be given; 20000 were."]}


@pytest.mark.parametrize("schema, field", list(multi_valued_fields()))
def test_every_multi_valued_field_reads_the_configured_cap(schema, field):
    """The cap is read from the app's config at load time, for every multi-valued field."""
    app = Flask(__name__)
    app.config["API_MAX_VALUES_PER_FIELD"] = 3
    with app.app_context():
        errors = errors_of(schema(), {field: ["x1", "x2", "x3", "x4"]})
    assert errors[field] == ["At most 3 values may be given; 4 were."] or (
        field == "restrictedIps"  # its own, smaller cap of 3 speaks first
    ), errors
