"""The API-side queue client (what the routes will call) against the private Postfix.

The client runs the helper directly (an empty sudo prefix, as on the embedded default or
when the API may manage the instance itself); tests/mailhost/test_sudoers.py runs it
through the real sudo. Every change is checked with an independent `postqueue -j`.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest

from iredapi_ldap import errors
from iredapi_ldap.config import DEFAULTS
from iredapi_ldap.mailhost.helper import Helper
from iredapi_ldap.mailhost.mlmmj import MailHostError
from iredapi_ldap.mailhost.mlmmj import MailHostUnavailable
from iredapi_ldap.mailhost.queue import MailQueue
from tests.postfixserver import HELPER_COMMAND
from tests.postfixserver import SENDER
from tests.postfixserver import helper_config


@pytest.fixture
def config(mail_queue, tmp_path):
    """The helper config allowing the private instance."""
    return helper_config(tmp_path / "helper.ini", mail_queue)


@pytest.fixture
def client(mail_queue, config):
    """A MailQueue on the private instance, helper run without sudo."""
    return MailQueue(Helper(HELPER_COMMAND, [], str(config), str(mail_queue.config_dir)))


def queues(postfix):
    """Return {queue_id: queue_name} read with postqueue -j."""
    return {i: m["queue_name"] for i, m in postfix.by_id().items()}


def test_list_everything_in_the_api_shape(client, mail_queue):
    """list() without a page returns every message: id, queue, frozen, times, size, addresses."""
    messages = mail_queue.fill(deferred=2, hold=1)
    listed = client.list()
    assert listed["total"] == 3 and len(listed["items"]) == 3
    by_id = {item["id"]: item for item in listed["items"]}
    assert {i: item["queue"] for i, item in by_id.items()} == queues(mail_queue)
    for queue_id, raw in messages.items():
        item = by_id[queue_id]
        assert item["frozen"] is (raw["queue_name"] == "hold")
        assert item["arrival_time"] == raw["arrival_time"]
        assert (
            item["arrival_time_iso"] == datetime.fromtimestamp(raw["arrival_time"], UTC).isoformat()
        )
        assert (item["size"], item["sender"]) == (raw["message_size"], SENDER)
        assert item["recipients"] == raw["recipients"] and item["forced_expire"] is False


def test_filters(client, mail_queue):
    """queue, sender and recipient filter (case-insensitive parts of the address)."""
    mail_queue.fill(deferred=2, hold=1)
    mail_queue.inject(1, recipient="boss@Other.test", sender="bounce@spam.test")
    mail_queue.settled(4)
    assert client.list(queue="hold")["total"] == 1
    assert all(item["frozen"] for item in client.list(queue="hold")["items"])
    assert [i["sender"] for i in client.list(sender="SPAM.test")["items"]] == ["bounce@spam.test"]
    assert [
        i["recipients"][0]["address"] for i in client.list(recipient="other.TEST")["items"]
    ] == ["boss@Other.test"]
    assert client.list(queue="deferred", sender="origin.test")["total"] == 2
    assert client.list(sender="nobody.invalid") == {"total": 0, "items": []}


def test_paging_keeps_only_the_page(client, mail_queue):
    """offset/limit return one page and the total; the pages together are the whole queue."""
    mail_queue.fill(deferred=7)
    everything = [item["id"] for item in client.list()["items"]]
    pages = [client.list(offset=offset, limit=3) for offset in (0, 3, 6, 9)]
    assert [page["total"] for page in pages] == [7, 7, 7, 7]
    assert [len(page["items"]) for page in pages] == [3, 3, 1, 0]
    assert [item["id"] for page in pages for item in page["items"]] == everything


def test_stopping_a_listing_early_ends_the_helper(client, mail_queue):
    """A consumer may stop reading: the generator closes without error."""
    mail_queue.fill(deferred=3)
    stream = client.messages()
    assert next(stream)["queue"] == "deferred"
    stream.close()
    assert client.count()["total"] == 3


def test_count(client, mail_queue):
    """count() gives the total and every queue, zeros included."""
    mail_queue.fill(deferred=2, hold=1, active=1)
    assert client.count() == {
        "total": 4,
        "by_queue": {"maildrop": 0, "hold": 1, "deferred": 2, "incoming": 0, "active": 1},
    }


def test_changes(client, mail_queue):
    """hold, release, reship, delete, requeue: each changes exactly its message."""
    ids = sorted(mail_queue.fill(deferred=3))
    assert client.hold(ids[0])["held"] == 1
    assert queues(mail_queue)[ids[0]] == "hold"
    assert client.reship(ids[0])["reshipped"] is True
    assert mail_queue.settled(3)[ids[0]]["queue_name"] == "deferred"
    assert client.hold(ids[1])["held"] == 1 and client.release(ids[1])["released"] == 1
    assert queues(mail_queue) == dict.fromkeys(ids, "deferred")
    assert client.delete(ids[2])["deleted"] == 1
    answer = client.requeue(ids[1])
    assert answer["requeued"] == 1 and "new queue ids" in answer["note"]
    after = mail_queue.settled(2)
    assert ids[0] in after and ids[1] not in after and ids[2] not in after


def test_bulk_changes(client, mail_queue):
    """delete_frozen, delete_all (forced and not), requeue_all and flush."""
    mail_queue.fill(deferred=2, hold=2, active=1)
    assert client.delete_frozen()["deleted"] == 2
    assert sorted(queues(mail_queue).values()) == ["active", "deferred", "deferred"]
    assert "new queue ids" in client.requeue_all()["note"]
    mail_queue.settled(3)
    assert client.flush() == {"flushed": True}
    assert client.delete_all()["deleted"] == 2
    assert list(queues(mail_queue).values()) == ["active"]
    assert client.delete_all(force=True)["deleted"] == 1
    assert queues(mail_queue) == {}


@pytest.mark.parametrize(
    "bad", ["ALL", "-d ALL", "abc", "A" * 40, "", None, 12345678, "ABCDEF\x00"]
)
@pytest.mark.parametrize("action", ["delete", "hold", "release", "reship", "requeue"])
def test_bad_id_is_400_and_changes_nothing(client, mail_queue, action, bad):
    """A malformed id is a 400 naming `id`, raised before the helper runs."""
    mail_queue.fill(deferred=1)
    before = queues(mail_queue)
    with pytest.raises(errors.ValidationFailed) as caught:
        getattr(client, action)(bad)
    assert caught.value.status == 400 and list(caught.value.errors) == ["id"]
    assert queues(mail_queue) == before


@pytest.mark.parametrize("action", ["delete", "hold", "release", "reship", "requeue"])
def test_unknown_id_is_404(client, mail_queue, action):
    """A well-formed id that is not queued is a 404 NO_SUCH_MESSAGE; nothing changes."""
    mail_queue.fill(deferred=1)
    before = queues(mail_queue)
    with pytest.raises(errors.NotFound) as caught:
        getattr(client, action)("4ABCDE12345")
    assert caught.value.status == 404 and caught.value.code == "NO_SUCH_MESSAGE"
    assert queues(mail_queue) == before


@pytest.mark.parametrize(
    "filters, field",
    [({"queue": "frozen"}, "queue"), ({"sender": "x" * 321}, "sender"),
     ({"recipient": "a\nb"}, "recipient"), ({"offset": -1}, "offset"), ({"limit": -2}, "limit")],
)  # fmt: skip
def test_bad_filters_are_400(client, mail_queue, filters, field):
    """A bad filter or page is a 400 naming the field."""
    with pytest.raises(errors.ValidationFailed) as caught:
        client.list(**filters)
    assert list(caught.value.errors) == [field]


def test_missing_helper_is_503_naming_it(mail_queue, config, tmp_path):
    """A helper that is not installed is a 503 naming its path and the set-up command."""
    missing = str(tmp_path / "no-such-helper")
    client = MailQueue(Helper([missing], [], str(config), str(mail_queue.config_dir)))
    with pytest.raises(MailHostUnavailable) as caught:
        client.count()
    assert caught.value.status == 503 and caught.value.code == "MAILHOST_HELPER_UNAVAILABLE"
    assert missing in caught.value.detail and "iredapi-ldap sudoers" in caught.value.detail


def test_missing_sudo_is_503_naming_it(mail_queue, config, tmp_path):
    """A sudo prefix that cannot run is a 503 saying to install sudo."""
    sudo = [str(tmp_path / "sudo"), "-n"]
    client = MailQueue(Helper(HELPER_COMMAND, sudo, str(config), str(mail_queue.config_dir)))
    with pytest.raises(MailHostUnavailable) as caught:
        client.delete_all()
    assert "sudo is not installed" in caught.value.detail


def test_missing_postfix_is_503_naming_it(tmp_path):
    """An instance without main.cf is a 503 MAIL_QUEUE_UNAVAILABLE naming the file."""
    empty = tmp_path / "postfix"
    empty.mkdir()
    config = tmp_path / "helper.ini"
    config.write_text(f"[postfix]\nconfig_directories = {empty}\n")
    client = MailQueue(Helper(HELPER_COMMAND, [], str(config), str(empty)))
    for call in (client.count, lambda: client.hold("ABCDEF123")):
        with pytest.raises(MailHostUnavailable) as caught:
            call()
        assert caught.value.code == "MAIL_QUEUE_UNAVAILABLE"
        assert str(empty / "main.cf") in caught.value.detail


def test_a_directory_not_allowed_by_the_helper_is_503(mail_queue, tmp_path):
    """-c outside the helper's allow-list: 503 MAILHOST_HELPER_MISCONFIGURED, nothing runs."""
    mail_queue.fill(deferred=1)
    before = queues(mail_queue)
    config = tmp_path / "helper.ini"
    config.write_text("[postfix]\nconfig_directories = /etc/postfix\n")
    client = MailQueue(Helper(HELPER_COMMAND, [], str(config), str(mail_queue.config_dir)))
    with pytest.raises(MailHostUnavailable) as caught:
        client.delete_all(force=True)
    assert caught.value.code == "MAILHOST_HELPER_MISCONFIGURED"
    assert queues(mail_queue) == before


def test_a_helper_that_answers_nothing_is_a_500_without_internals(tmp_path):
    """Output that is not the helper's JSON is a generic 500 (details only in the log)."""
    client = MailQueue(Helper(["/bin/echo", "secret internals"], [], "", ""))
    with pytest.raises(MailHostError) as caught:
        client.flush()
    assert caught.value.status == 500 and "secret" not in caught.value.detail


def test_a_postfix_tool_that_fails_is_a_503_without_internals(tmp_path):
    """The helper's "failed" answer (a Postfix tool refused: mail system down) is a 503."""
    answer = '{"ok": false, "error": "failed", "detail": "postqueue: fatal: secret down"}'
    script = f"printf '%s\\n' '{answer}'; exit 70"
    client = MailQueue(Helper(["/bin/sh", "-c", script, "helper"], [], "", ""))
    with pytest.raises(MailHostUnavailable) as caught:
        client.flush()
    assert caught.value.status == 503 and caught.value.code == "MAILHOST_TOOL_FAILED"
    assert "secret" not in caught.value.detail


def test_from_config_uses_the_mailhost_keys(mail_queue, config):
    """MailQueue.from_config builds the command line from [mailhost]."""
    values = dict(
        DEFAULTS,
        MAILHOST_HELPER_COMMAND=" ".join(HELPER_COMMAND),
        MAILHOST_SUDO_COMMAND="",
        MAILHOST_HELPER_CONFIG=str(config),
        MAILHOST_POSTFIX_CONFIG_DIR=str(mail_queue.config_dir),
    )
    client = MailQueue.from_config(values)
    assert client.helper.argv("queue-hold", "ABCDEF1") == [
        *HELPER_COMMAND, "--config", str(config), "-c", str(mail_queue.config_dir),
        "queue-hold", "ABCDEF1",
    ]  # fmt: skip
    mail_queue.fill(hold=1)
    assert client.count()["by_queue"]["hold"] == 1
    assert MailQueue.from_config(DEFAULTS).helper.argv("queue-list") == [
        "sudo", "-n", "/usr/local/libexec/iredapi-ldap/mailhost-helper", "queue-list",
    ]  # fmt: skip
