"""The root helper on its own: every queue verb against a private Postfix, refused arguments.

The helper runs as its own process (`python -I roothelper.py`, as root would run the
installed copy); each test asserts with an independent `postqueue -j` that the queue
changed exactly as the verb promises, or not at all.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.postfixserver import HELPER_COMMAND
from tests.postfixserver import SENDER
from tests.postfixserver import STALL_DOMAIN
from tests.postfixserver import helper_config


@pytest.fixture
def helper(mail_queue, tmp_path):
    """Return run(verb, *args) -> (exit code, answer, message lines) for the private instance."""
    config = helper_config(tmp_path / "helper.ini", mail_queue)

    def run(*args, options=None):
        if options is None:
            options = ["--config", str(config), "-c", str(mail_queue.config_dir)]
        result = subprocess.run(
            [*HELPER_COMMAND, *options, *args], capture_output=True, text=True, timeout=60
        )
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        assert lines, result.stderr
        return result.returncode, lines[-1], lines[:-1]

    return run


def queues(postfix):
    """Return {queue_id: queue_name} read with postqueue -j."""
    return {i: m["queue_name"] for i, m in postfix.by_id().items()}


def test_list_prints_each_message_with_known_members(helper, mail_queue):
    """queue-list prints every message of postqueue -j once, then a count."""
    before = mail_queue.fill(deferred=2, hold=1)
    code, answer, messages = helper("queue-list")
    assert code == 0 and answer == {"ok": True, "verb": "queue-list", "listed": 3}
    assert {m["queue_id"]: m["queue_name"] for m in messages} == queues(mail_queue)
    one = next(m for m in messages if m["queue_name"] == "deferred")
    assert set(one) == {
        "queue_name", "queue_id", "arrival_time", "message_size", "forced_expire", "sender",
        "recipients",
    }  # fmt: skip
    assert one["sender"] == SENDER
    assert (
        one["recipients"][0]["delay_reason"]
        == before[one["queue_id"]]["recipients"][0]["delay_reason"]
    )


def test_list_of_an_empty_queue(helper, mail_queue):
    """An empty queue lists nothing and counts 0."""
    assert helper("queue-list") == (0, {"ok": True, "verb": "queue-list", "listed": 0}, [])


def test_delete_one(helper, mail_queue):
    """queue-delete removes exactly that message and quotes postsuper."""
    ids = sorted(mail_queue.fill(deferred=3))
    code, answer, _ = helper("queue-delete", ids[1])
    assert code == 0
    assert answer["deleted"] == 1 and answer["queue"] == "deferred"
    assert any("removed" in line for line in answer["output"])
    assert sorted(queues(mail_queue)) == [ids[0], ids[2]]


def test_delete_unknown_id_is_not_found(helper, mail_queue):
    """A well-formed id that is not queued exits 66 and changes nothing."""
    mail_queue.fill(deferred=1)
    before = queues(mail_queue)
    code, answer, _ = helper("queue-delete", "ABCDEF12345")
    assert code == 66 and answer["error"] == "not_found" and answer["field"] == "id"
    assert queues(mail_queue) == before


def test_delete_all_keeps_active_mail(helper, mail_queue):
    """queue-delete-all empties deferred and hold; the message in delivery stays."""
    mail_queue.fill(deferred=2, hold=1, active=1)
    code, answer, _ = helper("queue-delete-all")
    assert code == 0 and answer["deleted"] == 3 and answer["queues"] == ["deferred", "hold"]
    assert list(queues(mail_queue).values()) == ["active"]


def test_delete_all_forced_empties_every_queue(helper, mail_queue):
    """queue-delete-all-forced removes active mail too."""
    mail_queue.fill(deferred=1, hold=1, active=1)
    code, answer, _ = helper("queue-delete-all-forced")
    assert code == 0 and answer["deleted"] == 3
    assert queues(mail_queue) == {}


def test_delete_queue_hold_deletes_only_frozen_mail(helper, mail_queue):
    """queue-delete-queue hold deletes the held messages only."""
    messages = mail_queue.fill(deferred=2, hold=2)
    code, answer, _ = helper("queue-delete-queue", "hold")
    assert code == 0 and answer["deleted"] == 2
    assert queues(mail_queue) == {
        i: "deferred" for i, m in messages.items() if m["queue_name"] == "deferred"
    }


def test_hold_and_release(helper, mail_queue):
    """queue-hold moves one message to hold; queue-release moves it back to deferred."""
    ids = sorted(mail_queue.fill(deferred=2))
    code, answer, _ = helper("queue-hold", ids[0])
    assert code == 0 and answer["held"] == 1
    assert queues(mail_queue) == {ids[0]: "hold", ids[1]: "deferred"}
    code, answer, _ = helper("queue-release", ids[0])
    assert code == 0 and answer["released"] == 1 and answer["queue"] == "hold"
    assert queues(mail_queue) == {ids[0]: "deferred", ids[1]: "deferred"}


def test_reship_keeps_the_id_and_releases(helper, mail_queue):
    """queue-reship of a held message releases it and tries it now, under the same id."""
    (queue_id,) = mail_queue.fill(hold=1)
    code, answer, _ = helper("queue-reship", queue_id)
    assert code == 0 and answer["reshipped"] is True and answer["queue"] == "hold"
    after = mail_queue.settled(1)
    assert list(after) == [queue_id] and after[queue_id]["queue_name"] == "deferred"


def test_reship_of_a_deferred_message_attempts_delivery(helper, mail_queue):
    """queue-reship of a deferred message makes a fresh attempt (new delay reason time)."""
    (queue_id,) = mail_queue.fill(deferred=1)
    code, answer, _ = helper("queue-reship", queue_id)
    assert code == 0 and answer["reshipped"] is True
    assert list(mail_queue.settled(1)) == [queue_id]


def test_requeue_one_gives_a_new_id(helper, mail_queue):
    """queue-requeue: the message comes back through pickup under a new id."""
    ids = sorted(mail_queue.fill(deferred=2))
    code, answer, _ = helper("queue-requeue", ids[0])
    assert code == 0 and answer["requeued"] == 1
    after = mail_queue.settled(2)
    assert ids[0] not in after and ids[1] in after
    (new,) = set(after) - {ids[1]}
    assert after[new]["sender"] == SENDER


def test_requeue_all_and_flush(helper, mail_queue):
    """queue-requeue-all gives every message a new id; queue-flush keeps them queued here."""
    ids = set(mail_queue.fill(deferred=2, hold=1))
    code, answer, _ = helper("queue-requeue-all")
    assert code == 0 and answer["requeued"] == 3
    after = mail_queue.settled(3)
    assert not ids & set(after)
    assert set(queues(mail_queue).values()) == {"deferred"}
    code, answer, _ = helper("queue-flush")
    assert code == 0 and answer == {"ok": True, "verb": "queue-flush", "flushed": True}
    assert set(mail_queue.settled(3)) == set(after)


@pytest.mark.parametrize(
    "args",
    [
        ["queue-delete", "ALL"],
        ["queue-delete", "all"],
        ["queue-delete", "-d"],
        ["queue-delete", "-dALL"],
        ["queue-delete", "ABCDEF -d ALL"],
        ["queue-delete", "ABCDEF;rm -rf /"],
        ["queue-delete", "ABCDEF$(id)"],
        ["queue-delete", "ABCDEF`id`"],
        ["queue-delete", "ABCDEF|true"],
        ["queue-delete", "ABCDEF\nALL"],
        ["queue-delete", "ABC"],
        ["queue-delete", "A" * 33],
        ["queue-delete", "ABCDEF1234\u00e9"],
        ["queue-hold", "../../etc"],
        ["queue-delete-queue", "maildrop"],
        ["queue-delete-queue", "ALL"],
        ["queue-delete-queue", "-d"],
        ["queue-delete-all", "extra"],
        ["queue-delete"],
        ["queue-reship", "ABCDEF1234", "ALL"],
        ["queue-requeue", "x" * 5000],
        ["queue-purge"],
        ["QUEUE-LIST"],
        ["--help"],
        ["service-on", "sshd"],
        [],
    ],
)
def test_refused_arguments_change_nothing(helper, mail_queue, args):
    """Bad, injected or overlong arguments and unknown verbs exit 64 before any tool runs."""
    mail_queue.fill(deferred=1, hold=1)
    before = queues(mail_queue)
    code, answer, _ = helper(*args)
    assert code == 64 and answer["ok"] is False and answer["error"] == "usage"
    assert queues(mail_queue) == before


def test_option_injection_in_an_id_is_refused(helper, mail_queue):
    """`-d ALL` smuggled as an id never reaches postsuper: every message survives."""
    ids = set(mail_queue.fill(deferred=2))
    for bad in ("-d ALL", "-dALL", "--", "-"):
        code, answer, _ = helper("queue-delete", bad)
        assert (code, answer["field"]) == (64, "id")
    assert set(queues(mail_queue)) == ids


@pytest.mark.parametrize(
    "options, error, code",
    [
        (["-c", "/etc/postfix"], "config", 78),
        (["-c", "relative/etc"], "usage", 64),
        (["--config", "/nonexistent/helper.ini"], "config", 78),
        (["--config"], "usage", 64),
        (["-x", "/tmp"], "usage", 64),
    ],
)
def test_config_and_instance_are_checked(helper, mail_queue, options, error, code):
    """A Postfix directory outside the allow-list, or a missing config, is refused."""
    mail_queue.fill(deferred=1)
    before = queues(mail_queue)
    got, answer, _ = helper("queue-delete-all-forced", options=options)
    assert (got, answer["error"]) == (code, error)
    assert queues(mail_queue) == before


def test_a_config_others_can_write_is_refused(helper, mail_queue, tmp_path):
    """The helper refuses a config file that is group- or world-writable."""
    mail_queue.fill(deferred=1)
    before = queues(mail_queue)
    config = helper_config(tmp_path / "loose.ini", mail_queue)
    config.chmod(0o666)
    code, answer, _ = helper(
        "queue-delete-all", options=["--config", str(config), "-c", str(mail_queue.config_dir)]
    )
    assert (code, answer["error"]) == (78, "config") and "writable" in answer["detail"]
    assert queues(mail_queue) == before


def test_missing_postfix_config_is_unavailable(helper, mail_queue, tmp_path):
    """An allow-listed directory without main.cf exits 69 naming the missing file."""
    empty = tmp_path / "no-postfix"
    empty.mkdir()
    config = tmp_path / "other.ini"
    config.write_text(f"[postfix]\nconfig_directories = {empty}\n")
    code, answer, _ = helper("queue-list", options=["--config", str(config), "-c", str(empty)])
    assert (code, answer["error"]) == (69, "unavailable")
    assert str(empty / "main.cf") in answer["detail"]


def test_stalled_message_is_active(mail_queue):
    """The fixture's stalled destination really keeps a message in the active queue."""
    messages = mail_queue.fill(active=1)
    (message,) = messages.values()
    assert message["queue_name"] == "active"
    assert message["recipients"][0]["address"].endswith("@" + STALL_DOMAIN)


def test_the_helper_imports_only_the_standard_library():
    """Root runs one file: the helper imports nothing outside Python's standard library."""
    import ast
    import sys

    from iredapi_ldap.mailhost import roothelper

    tree = ast.parse(Path(roothelper.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            imported.add(node.module.split(".")[0])
    assert imported and imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
