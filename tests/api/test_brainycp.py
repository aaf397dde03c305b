"""The BrainyCP-compatible route /api/brainycp on the private Postfix, in both languages.

The seed's parameters (mailserver + one operation, username/password by GET or POST,
language) and its answer {error, mess, message, detail}; the queue is checked with an
independent `postqueue -j`; the same operations as the REST routes.
"""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_EMAIL
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import PASSWORD
from tests.helpers import add_admin
from tests.helpers import command_section
from tests.helpers import kill_dummy_daemons
from tests.helpers import pid_of
from tests.postfixserver import app_mailhost_config

CREDENTIALS = {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "mailserver": ""}


@pytest.fixture
def app_config(app_config, mail_queue, tmp_path):
    """The app's helper acts on the private Postfix and a dummy clamd."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (tmp_path / "amavis-conf.d").mkdir()
    sections = {name: command_section(run_dir, name) for name in ("clamav", "amavis")}
    yield {**app_config, **app_mailhost_config(tmp_path / "helper.ini", mail_queue, **sections)}
    kill_dummy_daemons(run_dir)


def queues(postfix):
    """Return {queue_id: queue_name} read with postqueue -j."""
    return {i: m["queue_name"] for i, m in postfix.by_id().items()}


def call(client, method="post", **params):
    """Send one BrainyCP call (form body for POST, query string for GET); return the JSON."""
    values = {**CREDENTIALS, **params}
    if method == "get":
        response = client.get("/api/brainycp", query_string=values)
    else:
        response = client.post("/api/brainycp", data=values)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body["mess"] == body["message"]
    return body


def test_list_in_russian_by_default_and_in_english(client, admin, mail_queue):
    """list_msg: error 0 with the messages; 100 on an empty queue; ru default, en asked."""
    assert call(client, list_msg="") == {
        "error": 100,
        "mess": "Список почтовой очереди пуст",
        "message": "Список почтовой очереди пуст",
    }
    mail_queue.fill(deferred=2)
    body = call(client, "get", list_msg="1")
    assert (body["error"], body["mess"]) == (0, "Список почтовой очереди")
    assert sorted(item["id"] for item in body["detail"]) == sorted(queues(mail_queue))
    english = call(client, list_msg="1", language="en")
    assert (english["error"], english["mess"]) == (0, "Mail queue list")
    accept = client.post(
        "/api/brainycp", data={**CREDENTIALS, "count_msg": ""}, headers={"Accept-Language": "en"}
    )
    assert accept.json["mess"] == "Number of messages" and accept.json["detail"] == 2


def test_controll_msg_delete_and_reship(client, admin, mail_queue):
    """controll_msg: reship keeps the id, delete removes exactly it; bad command, id codes."""
    ids = sorted(mail_queue.fill(deferred=1, hold=1))
    held = next(i for i in ids if queues(mail_queue)[i] == "hold")
    body = call(client, controll_msg="", id=held, command="reship")
    assert (body["error"], body["mess"]) == (0, "Запрос выполнен")
    assert mail_queue.settled(2)[held]["queue_name"] == "deferred"

    before = queues(mail_queue)
    assert call(client, controll_msg="", id=held, command="hold")["error"] == 100
    assert call(client, controll_msg="", command="delete")["error"] == 101
    for bad in ("ALL", "-d ALL", "4ABCDE12345"):
        body = call(client, controll_msg="", id=bad, command="delete", language="en")
        assert (body["error"], body["mess"]) == (101, "The message id is missing or unknown")
    assert queues(mail_queue) == before

    body = call(client, "get", controll_msg="", id=held, command="delete")
    assert body["error"] == 0 and any(held in line for line in body["detail"])
    assert held not in queues(mail_queue) and len(queues(mail_queue)) == 1


def test_delete_all_frozen_and_count(client, admin, mail_queue):
    """delete_frozen_msg, delete_all_msg (dellete_forse: every queue) and count_msg."""
    mail_queue.fill(deferred=2, hold=1, active=1)
    assert call(client, count_msg="")["detail"] == 4
    assert call(client, delete_frozen_msg="")["error"] == 0
    assert sorted(queues(mail_queue).values()) == ["active", "deferred", "deferred"]
    assert call(client, delete_all_msg="")["error"] == 0
    assert list(queues(mail_queue).values()) == ["active"]
    assert call(client, delete_all_msg="", dellete_forse="")["error"] == 0
    assert queues(mail_queue) == {}


def test_services(client, admin, tmp_path):
    """clamav command=on|status|off switches the real dummy daemon; a wrong command is 100."""
    body = call(client, clamav="", command="on")
    assert (body["error"], body["mess"], body["detail"]) == (0, "Команда выполнена", "on")
    assert pid_of(tmp_path / "run" / "clamav.pid") is not None
    assert call(client, clamav="", command="status", language="en")["detail"] == "on"
    assert call(client, clamav="", command="off")["detail"] == "off"
    assert pid_of(tmp_path / "run" / "clamav.pid") is None
    body = call(client, spamassassin="", command="restart", language="en")
    assert (body["error"], body["mess"]) == (100, "Wrong command")


def test_refused_callers_get_400_and_nothing_changes(client, admin, raw, mail_queue):
    """A wrong password or a non-global admin: error 400, in both languages; queue unchanged."""
    mail_queue.fill(deferred=1)
    before = queues(mail_queue)
    body = call(client, delete_all_msg="", dellete_forse="", password="wrong")
    assert (body["error"], body["mess"]) == (400, "К сожалению, модуль вам не доступен")
    add_admin(raw, "std@partner.test")
    body = call(
        client, delete_all_msg="", username="std@partner.test", password=PASSWORD, language="en"
    )
    assert (body["error"], body["mess"]) == (
        400,
        "Unfortunately, the module is not available to you.",
    )
    assert queues(mail_queue) == before


def test_no_or_two_operations_is_100(client, admin, mail_queue):
    """mailserver with no operation, or with two, is a wrong command (100)."""
    assert call(client)["error"] == 100
    assert call(client, list_msg="", count_msg="")["error"] == 100


def test_without_postfix_is_102(make_app, admin, mail_queue, tmp_path):
    """No usable mail server behind the helper: 102, in Russian by default."""
    broken = make_app(MAILHOST_POSTFIX_CONFIG_DIR=str(tmp_path / "nowhere"))
    body = call(broken.test_client(), count_msg="")
    assert body["error"] == 102
    assert body["mess"] == "Отсутствует или неправильно указан сервер отправки писем"


def test_a_write_by_get_is_audited_without_the_password(client, admin, mail_queue, api):
    """delete_all_msg sent by GET gets its audit row: the admin, the operation, no password."""
    mail_queue.fill(deferred=1)
    anonymous = api.application.test_client()
    assert call(anonymous, "get", delete_all_msg="")["error"] == 0
    rows = api.get("/api/log?limit=50").json["_data"]
    row = next(r for r in rows if r["path"] == "/api/brainycp")
    assert (row["method"], row["admin"], row["action"]) == ("GET", ADMIN_EMAIL, "delete_all_msg")
    assert ADMIN_PASSWORD not in str(row["parameters"])
    assert queues(mail_queue) == {}
