"""The mail host routes against the real private Postfix: /api/mailqueue and /api/mailservice.

Messages are injected with sendmail; every change made through the API is checked with an
independent `postqueue -j` (tests/postfixserver.py). Services use the helper's command
backend with real dummy daemons (tests/mailhost/dummy_daemon.py).
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.helpers import assert_error
from tests.helpers import command_section
from tests.helpers import kill_dummy_daemons
from tests.helpers import new_client
from tests.helpers import pid_of
from tests.postfixserver import SENDER
from tests.postfixserver import app_mailhost_config

BAD_IDS = ["ALL", "-d ALL", "abc", "A" * 40, "ABCDEF;rm", "ABCDEF$(id)"]
ACTIONS = ["hold", "release", "reship", "requeue"]


@pytest.fixture
def run_dir(tmp_path):
    """Where the dummy daemons keep their pidfiles; any left running is killed at the end."""
    path = tmp_path / "run"
    path.mkdir()
    (tmp_path / "amavis-conf.d").mkdir()
    yield path
    kill_dummy_daemons(path)


@pytest.fixture
def app_config(app_config, mail_queue, tmp_path, run_dir):
    """The test app's config, its helper acting on the private Postfix and dummy daemons."""
    sections = {name: command_section(run_dir, name) for name in ("clamav", "amavis")}
    return {**app_config, **app_mailhost_config(tmp_path / "helper.ini", mail_queue, **sections)}


def queues(postfix):
    """Return {queue_id: queue_name} read with postqueue -j."""
    return {i: m["queue_name"] for i, m in postfix.by_id().items()}


def test_list_everything_streamed(api, mail_queue):
    """Without paging arguments every message is answered, matching postqueue -j."""
    messages = mail_queue.fill(deferred=3, hold=1)
    response = api.get("/api/mailqueue")
    assert response.status_code == 200
    body = response.json
    assert body["_success"] is True and body["total"] == 4 and "page" not in body
    by_id = {item["id"]: item for item in body["_data"]}
    assert {i: item["queue"] for i, item in by_id.items()} == queues(mail_queue)
    for queue_id, raw in messages.items():
        item = by_id[queue_id]
        assert item["frozen"] is (raw["queue_name"] == "hold")
        assert (item["size"], item["sender"]) == (raw["message_size"], SENDER)
        assert item["recipients"] == raw["recipients"]


def test_list_many_messages_in_chunks(api, mail_queue):
    """More messages than one streamed chunk still make one valid JSON answer."""
    mail_queue.inject(450)
    mail_queue.settled(450, timeout=120)
    body = api.get("/api/mailqueue").json
    assert body["total"] == 450 and len({item["id"] for item in body["_data"]}) == 450


def test_list_empty_and_paged_and_filtered(api, mail_queue):
    """An empty queue; pages with the total; filters on queue, sender and recipient."""
    assert api.get("/api/mailqueue").json["_data"] == []
    mail_queue.fill(deferred=4, hold=1)
    mail_queue.inject(1, recipient="boss@Other.test", sender="bounce@spam.test")
    mail_queue.settled(6)
    page = api.get("/api/mailqueue?page=2&page_size=4").json
    assert (page["total"], len(page["_data"]), page["page"]) == (6, 2, 2)
    pages = [api.get(f"/api/mailqueue?offset={o}&limit=4").json["_data"] for o in (0, 4)]
    assert sorted(i["id"] for p in pages for i in p) == sorted(queues(mail_queue))
    held = api.get("/api/mailqueue?queue=hold").json["_data"]
    assert [item["frozen"] for item in held] == [True]
    spam = api.get("/api/mailqueue?sender=SPAM.test").json
    assert [item["sender"] for item in spam["_data"]] == ["bounce@spam.test"]
    other = api.get("/api/mailqueue?recipient=other.TEST&limit=10").json
    assert (
        other["total"] == 1 and other["_data"][0]["recipients"][0]["address"] == "boss@Other.test"
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [("queue=frozen", "queue"), ("sender=" + "a" * 321, "sender"), ("page=0", "page")],
)
def test_list_bad_filters_are_400(api, mail_queue, query, field):
    """A bad filter or page is a 400 naming the field."""
    assert_error(api.get(f"/api/mailqueue?{query}"), 400, "INVALID_PARAMETERS", field=field)


def test_count(api, mail_queue):
    """count gives the total and every queue."""
    mail_queue.fill(deferred=2, hold=1, active=1)
    response = api.get("/api/mailqueue/count")
    assert response.status_code == 200
    assert response.json["_data"] == {
        "total": 4,
        "by_queue": {"maildrop": 0, "hold": 1, "deferred": 2, "incoming": 0, "active": 1},
    }


def test_hold_release_reship_delete_requeue(api, mail_queue):
    """Each route changes exactly its message, as postqueue -j shows."""
    ids = sorted(mail_queue.fill(deferred=3))
    response = api.post(f"/api/mailqueue/{ids[0]}/hold")
    assert response.status_code == 200 and response.json["_data"]["held"] == 1
    assert queues(mail_queue) == {ids[0]: "hold", ids[1]: "deferred", ids[2]: "deferred"}

    response = api.post(f"/api/mailqueue/{ids[0]}/release")
    assert response.json["_data"]["released"] == 1
    assert queues(mail_queue) == dict.fromkeys(ids, "deferred")

    api.post(f"/api/mailqueue/{ids[1]}/hold")
    response = api.post(f"/api/mailqueue/{ids[1]}/reship")
    assert response.json["_data"] == {
        **response.json["_data"],
        "id": ids[1],
        "queue": "hold",
        "reshipped": True,
    }
    assert mail_queue.settled(3)[ids[1]]["queue_name"] == "deferred"  # same id, tried again

    response = api.delete(f"/api/mailqueue/{ids[2]}")
    assert response.status_code == 200 and response.json["_data"]["deleted"] == 1
    assert sorted(queues(mail_queue)) == ids[:2]

    response = api.post(f"/api/mailqueue/{ids[0]}/requeue")
    assert response.json["_data"]["requeued"] == 1
    assert "new queue ids" in response.json["_data"]["note"]
    after = mail_queue.settled(2)
    assert ids[1] in after and ids[0] not in after


def test_bulk_routes(api, mail_queue):
    """delete frozen, requeue all, flush, delete all (not forced, then forced)."""
    mail_queue.fill(deferred=2, hold=2, active=1)
    response = api.delete("/api/mailqueue/frozen")
    assert response.status_code == 200 and response.json["_data"]["deleted"] == 2
    assert sorted(queues(mail_queue).values()) == ["active", "deferred", "deferred"]

    before = set(queues(mail_queue))
    response = api.post("/api/mailqueue/requeue")
    assert "new queue ids" in response.json["_data"]["note"]
    after = mail_queue.settled(3)
    assert len(set(after) & before) <= 1  # the deferred ones got new ids

    assert api.post("/api/mailqueue/flush").json["_data"] == {"flushed": True}
    mail_queue.settled(3)

    response = api.delete("/api/mailqueue")
    assert response.json["_data"]["deleted"] == 2
    assert list(queues(mail_queue).values()) == ["active"]
    response = api.delete("/api/mailqueue?force=yes")
    assert response.json["_data"]["deleted"] == 1
    assert queues(mail_queue) == {}


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("action", ["delete", *ACTIONS])
def test_bad_id_is_400_queue_unchanged(api, mail_queue, action, bad):
    """A malformed id (ALL, option injection, shell metacharacters) is a 400 naming id."""
    mail_queue.fill(deferred=1, hold=1)
    before = queues(mail_queue)
    path = f"/api/mailqueue/{bad}"
    response = api.delete(path) if action == "delete" else api.post(f"{path}/{action}")
    assert_error(response, 400, "INVALID_PARAMETERS", field="id")
    assert queues(mail_queue) == before


@pytest.mark.parametrize("action", ["delete", *ACTIONS])
def test_unknown_id_is_404_queue_unchanged(api, mail_queue, action):
    """A well-formed id that is not queued is a 404 NO_SUCH_MESSAGE; nothing changes."""
    mail_queue.fill(deferred=1, hold=1)
    before = queues(mail_queue)
    path = "/api/mailqueue/4ABCDE12345"
    response = api.delete(path) if action == "delete" else api.post(f"{path}/{action}")
    assert_error(response, 404, "NO_SUCH_MESSAGE")
    assert queues(mail_queue) == before


def test_without_postfix_is_503_naming_it(make_app, admin, mail_queue, tmp_path, app_config):
    """A Postfix config dir the helper does not know: 503 naming the problem, not a 500."""
    broken = make_app(MAILHOST_POSTFIX_CONFIG_DIR=str(tmp_path / "nowhere"))
    client = new_client(broken, admin, ADMIN_PASSWORD)
    body = assert_error(client.get("/api/mailqueue/count"), 503, "MAILHOST_HELPER_MISCONFIGURED")
    assert "nowhere" in body["detail"]


def test_without_the_helper_is_503(make_app, admin, mail_queue):
    """A missing helper program: 503 naming it and how to install it."""
    broken = make_app(MAILHOST_HELPER_COMMAND="/nonexistent/mailhost-helper")
    client = new_client(broken, admin, ADMIN_PASSWORD)
    body = assert_error(client.get("/api/mailqueue"), 503, "MAILHOST_HELPER_UNAVAILABLE")
    assert "/nonexistent/mailhost-helper" in body["detail"]


def test_services_status_on_off(api, run_dir, tmp_path):
    """clamav on starts the real daemon and lifts the bypass; off stops it; 409/400 cases."""
    pidfile = run_dir / "clamav.pid"
    response = api.get("/api/mailservice/clamav")
    assert response.status_code == 200 and response.json["_data"]["status"] == "off"

    response = api.post("/api/mailservice/clamav/on")
    assert response.status_code == 200 and response.json["_data"]["status"] == "on"
    pid = pid_of(pidfile)
    assert pid is not None and response.json["_data"]["units"]["clamav"]["pid"] == str(pid)

    response = api.post("/api/mailservice/clamav/off")
    assert response.json["_data"]["status"] == "off" and pid_of(pidfile) is None
    dropin = tmp_path / "amavis-conf.d" / "60-iredapi-ldap"
    assert "@bypass_virus_checks_maps = (1);" in dropin.read_text()
    assert api.get("/api/mailservice/clamav").json["_data"]["amavis_checks"] == "bypassed"


def test_service_errors(api, run_dir):
    """An unknown service is a 400; Amavisd is never stopped (400, nothing started or stopped)."""
    assert_error(api.get("/api/mailservice/postfix"), 400, "INVALID_PARAMETERS", field="service")
    body = assert_error(
        api.post("/api/mailservice/amavis/off"), 400, "INVALID_PARAMETERS", field="service"
    )
    assert body["errors"]["service"] == ["One of: clamav, spamassassin."]
    assert pid_of(run_dir / "amavis.pid") is None


def test_messages_in_russian_codes_unchanged(api, mail_queue):
    """language=ru or Accept-Language: ru translates detail and errors; codes stay the same."""
    mail_queue.fill(deferred=1)
    english = assert_error(api.post("/api/mailqueue/-d ALL/hold"), 400, "INVALID_PARAMETERS")
    assert english["detail"] == "Not a Postfix queue id (6-32 letters and digits)."
    russian = assert_error(
        api.post("/api/mailqueue/-d ALL/hold?language=ru"), 400, "INVALID_PARAMETERS", field="id"
    )
    assert russian["detail"] == "Это не id письма в очереди Postfix (6-32 буквы и цифры)."
    assert russian["errors"] == {"id": [russian["detail"]]}
    unknown = api.delete("/api/mailqueue/4ABCDE12345", headers={"Accept-Language": "ru, en;q=0.5"})
    body = assert_error(unknown, 404, "NO_SUCH_MESSAGE")
    assert body["detail"] == "Письма 4ABCDE12345 нет в почтовой очереди."
    back = api.delete("/api/mailqueue/4ABCDE12345?language=en", headers={"Accept-Language": "ru"})
    assert assert_error(back, 404, "NO_SUCH_MESSAGE")["detail"].startswith("No message")
    assert len(queues(mail_queue)) == 1


def test_service_changing_is_409(make_app, admin, mail_queue, tmp_path):
    """While clamd is starting, another switch is a 409 SERVICE_BUSY."""
    run_dir = tmp_path / "slow"
    run_dir.mkdir()
    sections = {"clamav": command_section(run_dir, "clamav", delay=1.5)}
    app = make_app(**app_mailhost_config(tmp_path / "slow.ini", mail_queue, **sections))
    starter, other = (new_client(app, admin, ADMIN_PASSWORD) for _ in range(2))
    thread = threading.Thread(target=lambda: starter.post("/api/mailservice/clamav/on"))
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while other.get("/api/mailservice/clamav").json["_data"]["status"] != "changing":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert_error(other.post("/api/mailservice/clamav/off"), 409, "SERVICE_BUSY")
    finally:
        thread.join(timeout=15)
        kill_dummy_daemons(run_dir)
