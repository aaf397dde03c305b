"""Every answer as XML with Accept: application/xml or text/xml (q-values honoured); JSON by default."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

XML = {"Accept": "application/xml"}


def parse(response):
    """Parse an XML body, failing the test if it is not well-formed."""
    return ET.fromstring(response.data)


def test_a_list_as_xml_repeats_item_elements(api, raw):
    """GET /api/domains as XML: <response> with _success, paging and one <item> per domain."""
    for domain in ("a.example.com", "b.example.com"):
        assert api.post(f"/api/domain/{domain}", data={"name": domain.upper()}).status_code == 201
    response = api.get("/api/domains", headers=XML)
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.mimetype_params["charset"] == "utf-8"
    assert "Accept" in response.headers["Vary"]
    root = parse(response)
    assert root.tag == "response"
    assert root.findtext("success") == "true" and root.findtext("_success") == "true"
    assert root.findtext("total") == "2"
    items = root.findall("_data/item")
    assert len(items) == 2
    json_items = api.get("/api/domains").json["_data"]
    assert [item.findtext("domain") for item in items] == [d["domain"] for d in json_items]
    assert {item.findtext("name") for item in items} == {"A.EXAMPLE.COM", "B.EXAMPLE.COM"}
    assert raw.entry(raw.domain_dn("a.example.com"))["cn"] == ["A.EXAMPLE.COM"]


def test_text_xml_is_answered_as_text_xml(api):
    """Accept: text/xml gets text/xml."""
    assert api.post("/api/domain/example.com").status_code == 201
    response = api.get("/api/domain/example.com", headers={"Accept": "text/xml"})
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert parse(response).findtext("_data/domain") == "example.com"


@pytest.mark.parametrize(
    ("accept", "mimetype"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json, application/xml", "application/json"),
        ("application/xml;q=0.5, application/json", "application/json"),
        ("application/json;q=0.2, text/xml;q=0.9", "text/xml"),
        ("text/html, application/xml;q=0.9, */*;q=0.8", "application/xml"),
        ("image/png", "application/json"),
        ("application/xml;q=0", "application/json"),
    ],
)
def test_accept_q_values_choose_the_format(api, accept, mimetype):
    """The format follows the Accept q-values; JSON wins ties and unknown types."""
    headers = {"Accept": accept} if accept else {}
    response = api.get("/api/domains", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    if mimetype == "application/json":
        assert json.loads(response.data)["_success"] is True
    else:
        assert parse(response).findtext("_success") == "true"


def test_errors_are_xml_too(api, raw):
    """A failure (404, 400 with field errors, 401, 405) keeps its status and codes in XML."""
    missing = api.get("/api/domain/nosuch.example.com", headers=XML)
    assert missing.status_code == 404
    root = parse(missing)
    assert root.findtext("success") == "false"
    assert root.findtext("msg") == "NO_SUCH_DOMAIN" and root.findtext("_msg") == "NO_SUCH_DOMAIN"
    invalid = api.post("/api/domain/example.com", data={"defaultQuota": "lots"}, headers=XML)
    assert invalid.status_code == 400
    errors = parse(invalid).find("errors")
    assert errors.find("defaultQuota/item").text
    assert raw.entry(raw.domain_dn("example.com")) is None
    api.post("/api/logout")
    anonymous = api.get("/api/domains", headers=XML)
    assert anonymous.status_code == 401 and parse(anonymous).findtext("msg") == "LOGIN_REQUIRED"
    wrong_method = api.patch("/api/domains", headers=XML)
    assert (
        wrong_method.status_code == 405
        and parse(wrong_method).findtext("msg") == "METHOD_NOT_ALLOWED"
    )


def test_odd_keys_and_characters_stay_well_formed(api):
    """Keys that are no XML names become <entry key=...>; control characters are replaced; None is nil."""
    response = api.post(
        "/api/admin/postmaster@admin.test/tokens", data={"bad key": "v\x01", "1st": "x"}
    )
    assert response.status_code == 400
    logged = api.get("/api/log?page_size=1", headers=XML)
    assert logged.status_code == 200
    entry = parse(logged).find("_data/item")
    parameters = {e.get("key"): e.text for e in entry.find("parameters").findall("entry")}
    assert parameters == {"bad key": "v\ufffd", "1st": "x"}
    assert entry.findtext("result") == "INVALID_PARAMETERS"
    tokens = api.get("/api/admin/postmaster@admin.test/tokens", headers=XML)
    assert parse(tokens).find("_data").findall("item") == []
    created = api.post("/api/admin/postmaster@admin.test/tokens", headers=XML)
    assert created.status_code == 201
    assert parse(created).find("_data/expires").get("nil") == "true"
    assert parse(created).findtext("_data/read_only") == "false"
