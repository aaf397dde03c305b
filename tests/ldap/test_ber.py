"""ber.py encodes requests byte for byte as ldap3 (pyasn1) does, and FastConnection uses it."""

from __future__ import annotations

import pytest
from ldap3 import BASE
from ldap3 import LEVEL
from ldap3 import MODIFY_ADD
from ldap3 import MODIFY_DELETE
from ldap3 import MODIFY_INCREMENT
from ldap3 import MODIFY_REPLACE
from ldap3 import SUBTREE
from ldap3.operation.add import add_operation
from ldap3.operation.delete import delete_operation
from ldap3.operation.modify import modify_operation
from ldap3.operation.search import search_operation
from ldap3.protocol.convert import build_controls_list
from ldap3.protocol.rfc2696 import paged_search_control
from ldap3.protocol.rfc4511 import LDAPMessage
from ldap3.protocol.rfc4511 import MessageID
from ldap3.protocol.rfc4511 import ProtocolOp
from pyasn1.codec.ber import encoder

from iredapi_ldap.ldap import ber
from iredapi_ldap.ldap import filters as F
from iredapi_ldap.ldap.fastpath import FastConnection

MESSAGE_IDS = [1, 127, 128, 255, 256, 65535, 65536, 2**31 - 2]
HOSTILE = ["*", "*)(mail=*", "a\\b", "(x)", "münchen", "#lead", "\x7f", "a" * 300]
FILTERS = [
    F.everything(),
    F.eq("mail", "user@example.com"),
    F.and_(F.object_class("mailUser"), F.eq("mail", "x@y")),
    F.or_(F.eq("mail", "a@b"), F.eq("shadowAddress", "a@b"), F.not_(F.present("uid"))),
    F.contains("cn", "ann"),
    F.starts_with("mail", "pre"),
    *[F.eq("mail", value) for value in HOSTILE],
    *[F.contains("cn", value) for value in HOSTILE],
    F.any_of("mail", [f"user{i}@example.com" for i in range(40)]),
    F.eq("description", "x" * 300),
    "(mailQuota>=1024)",
    "(shadowLastChange<=20000)",
    "(cn~=smith)",
    "(cn;lang-de=Ä)",
    "(!(&(|(a=1)(b=2))(!(c=*))))",
    "(cn=a**b)",
    "(cn=*a*b*c*)",
    "(cn=\\2a\\28\\29\\5c\\00)".replace("\\\\", "\\"),
    "(cn=caf\\c3\\a9)".replace("\\\\", "\\"),
    "(cn:dn:=x)",
    "(cn:caseExactMatch:=X)",
]
USER_ATTRIBUTES = ["mail", "cn", "givenName", "sn", "uid", "accountStatus", "mailQuota",
                   "enabledService", "shadowAddress", "memberOfGroup", "employeeNumber"]  # fmt: skip
ATTRIBUTE_LISTS = [["1.1"], ["*"], ["*", "+"], USER_ATTRIBUTES, USER_ATTRIBUTES * 12]


def ldap3_encoding(message_id, kind, request, controls=None):
    """Encode a request the way ldap3's strategy.send does."""
    message = LDAPMessage()
    message["messageID"] = MessageID(message_id)
    message["protocolOp"] = ProtocolOp().setComponentByName(kind, request)
    built = build_controls_list(controls)
    if built is not None:
        message["controls"] = built
    return encoder.encode(message)


@pytest.mark.parametrize("message_id", MESSAGE_IDS)
@pytest.mark.parametrize("scope", [BASE, LEVEL, SUBTREE])
def test_search_request_matches_ldap3(message_id, scope):
    for base in ["cn=x,dc=example,dc=com", "mail=münchen@ä.de,ou=Users,domainName=ä.de,o=domains",
                 "", "cn=" + "long" * 80]:  # fmt: skip
        for text in FILTERS:
            for attributes in ATTRIBUTE_LISTS:
                expected = ldap3_encoding(message_id, "searchRequest", search_operation(
                    base, text, scope, "ALWAYS", attributes, 0, 0, False, True, True, None, None, True))  # fmt: skip
                ours = ber.message(message_id, ber.search_request(base, scope, text, attributes))
                assert ours == expected, (base, text, attributes)


@pytest.mark.parametrize("size", [0, 1, 50, 127, 128, 500, 100000])
@pytest.mark.parametrize("cookie", [None, b"", b"\x00\x01\x02", bytes(range(256)) * 3])
def test_paged_search_control_matches_ldap3(size, cookie):
    request = search_operation("o=domains", F.everything(), SUBTREE, "ALWAYS", ["mail"],
                               0, 0, False, True, True, None, None, True)  # fmt: skip
    expected = ldap3_encoding(
        7, "searchRequest", request, [paged_search_control(False, size, cookie)]
    )
    ours = ber.message(7, ber.search_request("o=domains", SUBTREE, F.everything(), ["mail"]),
                       ber.paged_results_control(size, cookie))  # fmt: skip
    assert ours == expected


ENTRIES = [
    {"objectClass": ["inetOrgPerson", "mailUser"], "mail": ["a@b.c"], "cn": ["Ä B"]},
    {
        "objectClass": ["top"],
        "description": ["x" * 200],
        "enabledService": [f"s{i}" for i in range(40)],
    },
    {"objectClass": ["top"], "jpegPhoto": [bytes(range(256)) * 300], "uid": ["u"]},
]


@pytest.mark.parametrize("message_id", MESSAGE_IDS)
@pytest.mark.parametrize("attributes", ENTRIES)
def test_add_request_matches_ldap3(message_id, attributes):
    dn = "mail=a@b.c,ou=Users,domainName=b.c,o=domains,dc=x"
    expected = ldap3_encoding(
        message_id, "addRequest", add_operation(dn, attributes, True, None, None, True)
    )
    assert ber.message(message_id, ber.add_request(dn, attributes)) == expected


CHANGES = [
    {"accountStatus": [(MODIFY_REPLACE, ["disabled"])]},
    {"domainCurrentUserNumber": [(MODIFY_INCREMENT, ["1"])], "cn": [(MODIFY_REPLACE, ["Ü"])]},
    {"shadowAddress": [(MODIFY_DELETE, ["a@b"]), (MODIFY_ADD, ["c@d", "e@f"])]},
    {"mailForwardingAddress": [(MODIFY_DELETE, [])], "description": [(MODIFY_REPLACE, [])]},
    {"enabledService": [(MODIFY_ADD, [f"service{i}" for i in range(300)])]},
]


@pytest.mark.parametrize("message_id", MESSAGE_IDS)
@pytest.mark.parametrize("changes", CHANGES)
def test_modify_request_matches_ldap3(message_id, changes):
    dn = "mail=a@b.c,ou=Users,domainName=b.c,o=domains,dc=x"
    expected = ldap3_encoding(
        message_id, "modifyRequest", modify_operation(dn, changes, True, None, None, True)
    )
    assert ber.message(message_id, ber.modify_request(dn, changes)) == expected


@pytest.mark.parametrize(
    "dn", ["cn=a,dc=x", "mail=ö@ü.de,ou=Users,domainName=ü.de,o=domains", "cn=" + "y" * 400]
)
def test_delete_request_matches_ldap3(dn):
    assert ber.message(9, ber.delete_request(dn)) == ldap3_encoding(
        9, "delRequest", delete_operation(dn)
    )


@pytest.mark.parametrize("size", [0, 1, 127, 128, 255, 256, 65535, 65536, 16777216])
def test_lengths_use_the_shortest_definite_form(size):
    encoded = ber.tlv(0x04, b"x" * size)
    assert encoded[len(encoded) - size :] == b"x" * size
    assert (
        encoder.encode(
            __import__("pyasn1.type.univ", fromlist=["OctetString"]).OctetString(b"x" * size)
        )
        == encoded
    )


@pytest.fixture
def fast(slapd_server, ldap_tree):
    """Yield a FastConnection bound as the rootdn, closed afterwards."""
    from ldap3 import Server

    creds = slapd_server.credentials
    conn = FastConnection(Server(creds.uri), creds.root_dn, creds.root_password,
                          auto_bind=True, raise_exceptions=True)  # fmt: skip
    yield conn
    conn.unbind()


def base(slapd_server):
    """Return the container the tests write under (emptied before each test)."""
    return f"o=domains,{slapd_server.suffix}"


def test_fast_connection_writes_and_reads_back_raw_values(fast, slapd_server):
    dn = f"cn=fast-ber,{base(slapd_server)}"
    assert fast.add(dn, attributes={"objectClass": ["organizationalRole"], "cn": ["fast-ber"],
                                    "description": ["Ä " * 100]})  # fmt: skip
    assert fast.modify(
        dn, {"description": [(MODIFY_REPLACE, ["ü", "v"])], "ou": [(MODIFY_ADD, ["x"])]}
    )
    assert fast.search(dn, F.everything(), BASE, attributes=["cn", "description", "ou", "seeAlso"])
    (entry,) = fast.response
    assert entry["dn"] == dn
    assert entry["raw_attributes"] == {
        "cn": [b"fast-ber"],
        "description": ["ü".encode(), b"v"],
        "ou": [b"x"],
    }
    assert fast.delete(dn)
    assert not fast.search(base(slapd_server), F.eq("cn", "fast-ber"), SUBTREE, attributes=["cn"])
    assert fast.result["result"] == 0 and fast.response == []


def test_fast_connection_pages_with_the_paged_results_control(fast, slapd_server):
    for i in range(5):
        fast.add(f"cn=page{i},{base(slapd_server)}",
                 attributes={"objectClass": ["organizationalRole"], "cn": [f"page{i}"]})  # fmt: skip
    seen, cookie = [], None
    while True:
        fast.search(base(slapd_server), F.starts_with("cn", "page"), SUBTREE, attributes=["cn"],
                    paged_size=2, paged_cookie=cookie)  # fmt: skip
        assert len(fast.response) <= 2
        seen += [entry["raw_attributes"]["cn"][0] for entry in fast.response]
        cookie = fast.result["controls"]["1.2.840.113556.1.4.319"]["value"]["cookie"]
        if not cookie:
            break
    assert sorted(seen) == [f"page{i}".encode() for i in range(5)]


def test_fast_connection_raises_ldap3_errors(fast, slapd_server):
    from ldap3.core.exceptions import LDAPEntryAlreadyExistsResult
    from ldap3.core.exceptions import LDAPNoSuchObjectResult

    with pytest.raises(LDAPNoSuchObjectResult):
        fast.search(f"cn=missing,{base(slapd_server)}", F.everything(), BASE, attributes=["cn"])
    with pytest.raises(LDAPNoSuchObjectResult):
        fast.delete(f"cn=missing,{base(slapd_server)}")
    fast.add(
        f"cn=twice,{base(slapd_server)}",
        attributes={"objectClass": ["organizationalRole"], "cn": ["twice"]},
    )
    with pytest.raises(LDAPEntryAlreadyExistsResult):
        fast.add(
            f"cn=twice,{base(slapd_server)}",
            attributes={"objectClass": ["organizationalRole"], "cn": ["twice"]},
        )


def test_fast_connection_leaves_unusual_requests_to_ldap3(fast, slapd_server):
    # Extra arguments (here a size limit) take ldap3's own path; the result is the same shape.
    assert fast.search(
        base(slapd_server), F.everything(), SUBTREE, attributes=["1.1"], size_limit=1
    ) in (True, False)
    assert len(fast.response) == 1
    assert "raw_attributes" in fast.response[0]


def test_the_pool_sends_through_the_fast_path(app, ldap_tree):
    from iredapi_ldap.ldap import get_directory
    from iredapi_ldap.ldap import get_pool
    from iredapi_ldap.ldap.fastpath import RawEntryStrategy

    with app.app_context():
        directory = get_directory()
        assert isinstance(directory.conn, FastConnection)
        assert isinstance(directory.conn.strategy, RawEntryStrategy)
        before = ber.attribute_selection.cache_info()
        domains = f"o=domains,{ldap_tree.suffix}"
        entry = directory.get(domains, ["o", "objectClass"])
        assert entry.dn == domains and entry.first("o") == "domains"
        after = ber.attribute_selection.cache_info()
        assert after.hits + after.misses == before.hits + before.misses + 1
    get_pool(app).close_all()


def test_entries_decode_as_ldap3_decodes_them(fast, slapd_server):
    from ldap3 import Connection
    from ldap3 import Server

    creds = slapd_server.credentials
    stock = Connection(Server(creds.uri), creds.root_dn, creds.root_password, auto_bind=True,
                       return_empty_attributes=False)  # fmt: skip
    entries = {
        f"cn=small,{base(slapd_server)}": {
            "objectClass": ["inetOrgPerson"],
            "cn": ["small"],
            "sn": ["s"],
        },
        f"cn=Ünïcode Näme,{base(slapd_server)}": {
            "objectClass": ["inetOrgPerson"],
            "cn": ["Ünïcode Näme"],
            "sn": ["ü" * 200],
            "title": [f"Tïtle {i}" for i in range(300)],
        },  # fmt: skip
        f"cn=big,{base(slapd_server)}": {
            "objectClass": ["inetOrgPerson"],
            "cn": ["big"],
            "sn": ["b"],
            "description": ["d" * 70000],
            "jpegPhoto": [bytes(range(256)) * 400],
        },  # fmt: skip
    }
    for dn, attributes in entries.items():
        assert fast.add(dn, attributes=attributes)
    for attributes in (["*"], ["cn", "sn", "title", "description", "jpegPhoto"], ["1.1"]):
        fast.search(base(slapd_server), F.present("cn"), SUBTREE, attributes=attributes)
        stock.search(base(slapd_server), F.present("cn"), SUBTREE, attributes=attributes)
        ours = {e["dn"]: e["raw_attributes"] for e in fast.response}
        theirs = {
            e["dn"]: dict(e["raw_attributes"])
            for e in stock.response
            if e["type"] == "searchResEntry"
        }
        assert ours == theirs and len(ours) == 3
    assert ours[f"cn=big,{base(slapd_server)}"] == {}
    stock.unbind()


def test_search_entry_leaves_other_messages_to_ldap3():
    # A SearchResultDone (0x65) and an entry followed by controls are not decoded here.
    done = ber.tlv(
        0x30, ber.integer(5) + ber.tlv(0x65, ber.integer(0, 0x0A) + ber.octets("") + ber.octets(""))
    )
    assert ber.search_entry(done) is None
    entry = ber.tlv(0x64, ber.octets("cn=x") + ber.tlv(0x30, b""))
    assert ber.search_entry(ber.tlv(0x30, ber.integer(5) + entry)) == (5, b"cn=x", {})
    assert (
        ber.search_entry(ber.tlv(0x30, ber.integer(5) + entry + ber.paged_results_control(1, b"")))
        is None
    )


def test_filter_encoder_covers_what_filters_py_writes_and_defers_the_rest():
    from iredapi_ldap.ldap import filter_ber

    for text in FILTERS:
        if ":" in text.split("=")[0]:
            with pytest.raises(filter_ber.Unsupported):
                filter_ber.encode(text)
        else:
            assert filter_ber.encode(text) == ber.search_filter(text)
    for bad in [
        "",
        "cn=x",
        "(cn=x",
        "(cn=x))",
        "(&)",
        "(!(a=1)(b=2))",
        "(=x)",
        "(cn=\\zz)",
        "(cn=\\4)",
    ]:
        with pytest.raises(filter_ber.Unsupported):
            filter_ber.encode(bad)


@pytest.mark.parametrize("bad", ["(cn=x", "(&)", "cn=x)", "(cn=x)(cn=y)"])
def test_malformed_filters_fail_as_ldap3_fails(bad):
    from ldap3.core.exceptions import LDAPInvalidFilterError

    ber.search_filter.cache_clear()
    with pytest.raises(LDAPInvalidFilterError):
        ber.search_filter(bad)
