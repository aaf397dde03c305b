"""Views return data; ApiBlueprint wraps it in the envelope and its response schema writes it."""

from __future__ import annotations

import pytest
from flask import Flask
from marshmallow import Schema
from marshmallow import fields

from iredapi_ldap.api import ApiBlueprint
from iredapi_ldap.api import EnvelopeApi
from iredapi_ldap.api.envelope import AnswerDrift
from iredapi_ldap.api.paging import Page
from iredapi_ldap.schemas.base import EnvelopeSchema
from iredapi_ldap.schemas.base import envelope
from iredapi_ldap.schemas.base import page_envelope

Thing = Schema.from_dict({"name": fields.String(), "size": fields.Integer()}, name="ThingSchema")
ThingEnvelope = envelope("ThingEnvelopeSchema", fields.Nested(Thing))
ThingPage = page_envelope("ThingPageSchema", fields.Nested(Thing), size=fields.Integer())
Job = envelope("JobEnvelopeSchema", fields.Nested(Schema.from_dict({"id": fields.String()})))


def build(testing: bool) -> Flask:
    """Return an app with one ApiBlueprint whose views return plain data."""
    app = Flask("answers")
    app.config.update(TESTING=testing, API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    app.json.sort_keys = False
    blp = ApiBlueprint("things", __name__)

    @blp.route("/thing")
    @blp.response(200, ThingEnvelope)
    def thing():
        return {"name": "a", "size": 3}

    @blp.route("/leaky")
    @blp.response(200, ThingEnvelope)
    def leaky():
        return {"name": "a", "size": 3, "password": "hash"}

    @blp.route("/things")
    @blp.response(200, ThingPage)
    def things():
        return Page([{"name": "a", "size": 1}], 10, 5, 11, {"size": 5})

    @blp.route("/done", methods=["POST"])
    @blp.response(200, EnvelopeSchema)
    def done():
        return None

    @blp.route("/work", methods=["PUT"])
    @blp.alt_response(202, schema=Job)
    @blp.response(200, ThingEnvelope)
    def work():
        return {"id": "j1"}, 202, {"Location": "/jobs/j1"}

    @blp.route("/work-below", methods=["PUT"])
    @blp.response(200, ThingEnvelope)
    @blp.alt_response(202, schema=Job)
    def work_below():
        return {"id": "j2"}, 202

    @blp.route("/odd")
    @blp.response(200, ThingEnvelope)
    def odd():
        return {"name": "a"}, 418

    @blp.route("/stream")
    @blp.response(200, Thing, content_type="text/plain")
    def stream():
        return app.response_class("raw", mimetype="text/plain")

    EnvelopeApi(app).register_blueprint(blp)
    return app


@pytest.fixture(params=[True, False], ids=["testing", "production"])
def client(request):
    return build(request.param).test_client()


def test_data_is_enveloped_and_dumped(client):
    """A returned dict is `_data` of the envelope, as the schema writes it."""
    response = client.get("/thing")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == (
        '{"success": true, "_success": true, "_data": {"name": "a", "size": 3}}\n'
    )
    assert response.vary.as_set() == {"accept"}


def test_a_page_puts_its_keys_beside_the_items(client):
    """A Page answers items under `_data`, then total, offset, limit, page, page_size, extras."""
    body = client.get("/things").json
    assert list(body) == [
        "success", "_success", "_data", "total", "offset", "limit", "page", "page_size", "size",
    ]  # fmt: skip
    assert body["_data"] == [{"name": "a", "size": 1}]
    assert (body["total"], body["offset"], body["limit"], body["page"]) == (11, 10, 5, 3)


def test_none_is_the_bare_envelope(client):
    """A view returning None answers success alone."""
    response = client.post("/done")
    assert response.status_code == 200
    assert response.json == {"success": True, "_success": True}


@pytest.mark.parametrize("path, job", [("/work", "j1"), ("/work-below", "j2")])
def test_another_documented_status_uses_its_own_schema(client, path, job):
    """(data, 202, headers) is written by the 202 schema, whichever decorator comes first."""
    response = client.put(path)
    assert response.status_code == 202
    assert response.json == {"success": True, "_success": True, "_data": {"id": job}}
    if job == "j1":
        assert response.headers["Location"] == "/jobs/j1"


def test_a_ready_response_passes_through(client):
    """A streaming view's own Response is sent unchanged."""
    response = client.get("/stream")
    assert response.get_data(as_text=True) == "raw"
    assert response.mimetype == "text/plain"


def test_xml_is_negotiated_from_the_dumped_answer(client):
    """A client preferring XML gets the same dumped answer as XML."""
    response = client.get("/thing", headers={"Accept": "application/xml"})
    assert response.mimetype == "application/xml"
    assert b"<_data><name>a</name><size>3</size></_data>" in response.data


def test_an_undeclared_key_never_leaves_in_production():
    """In production the schema writes the answer: a key it does not declare is not sent."""
    response = build(testing=False).test_client().get("/leaky")
    assert response.status_code == 200
    assert response.json["_data"] == {"name": "a", "size": 3}
    assert b"hash" not in response.data


def test_an_undeclared_key_fails_under_testing():
    """Under TESTING the same answer fails the test, naming the key to declare."""
    with pytest.raises(AnswerDrift, match="_data: not declared: password"):
        build(testing=True).test_client().get("/leaky")


def test_an_undocumented_status_is_a_bug():
    """Returning a status the view does not document is refused (500 in production)."""
    with pytest.raises(RuntimeError, match="418"):
        build(testing=True).test_client().get("/odd")
    response = build(testing=False).test_client().get("/odd")
    assert response.status_code == 500
