"""The mail host's mlmmj side against a private spool, read back with mlmmj's own tools."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

import pytest

from iredapi_ldap import errors
from iredapi_ldap.mailhost import FLAG
from iredapi_ldap.mailhost import INSTALL_COMMAND
from iredapi_ldap.mailhost import LINE
from iredapi_ldap.mailhost import LINES
from iredapi_ldap.mailhost import TEXT
from iredapi_ldap.mailhost import MailHostError
from iredapi_ldap.mailhost import MailHostUnavailable
from iredapi_ldap.mailhost import Mlmmj
from iredapi_ldap.mailhost import require_mlmmj

LIST = "team@example.com"
BIN = Path("/usr/bin")
SKEL = Path("/usr/share/mlmmj/text.skel")
MAKE_ML_DIRS = [
    "archive", "bounce", "control", "digesters.d", "incoming", "moderation", "nomailsubs.d",
    "queue", "queue/discarded", "requeue", "subconf", "subscribers.d", "text", "unsubconf",
]  # fmt: skip


@pytest.fixture
def host(mlmmj_spool):
    spool, archive = mlmmj_spool
    return Mlmmj(spool, archive, BIN, SKEL)


def mlmmj_list(path, *flags):
    """Run the real mlmmj-list and return its lines."""
    result = subprocess.run([str(BIN / "mlmmj-list"), "-L", str(path), *flags],
                            capture_output=True, text=True, check=True)  # fmt: skip
    return sorted(line for line in result.stdout.splitlines() if line)


# -- the directory ---------------------------------------------------------------------


def test_create_lays_out_the_directory_as_mlmmj_make_ml(host, mlmmj_spool):
    path = host.create(LIST)
    assert path == mlmmj_spool[0] / "example.com" / "team"
    found = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_dir())
    assert found == MAKE_ML_DIRS
    assert (path / "index").is_file() and (path / "index").read_text() == ""
    assert (path / "control" / "listaddress").read_text() == f"{LIST}\n"
    skel = sorted(p.name for p in (SKEL / "en").iterdir())
    assert sorted(p.name for p in (path / "text").iterdir()) == skel
    assert (path / "text" / "help").read_bytes() == (SKEL / "en" / "help").read_bytes()
    assert oct(path.stat().st_mode & 0o777) == oct(0o700)
    assert mlmmj_list(path) == [] and mlmmj_list(path, "-c") == ["0"]


def test_create_refuses_an_existing_directory_and_leaves_it_alone(host):
    path = host.create(LIST)
    (path / "control" / "owner").write_text("keep@example.com\n")
    with pytest.raises(errors.AlreadyExists):
        host.create(LIST)
    assert (path / "control" / "owner").read_text() == "keep@example.com\n"


def test_create_needs_the_spool_directory(tmp_path):
    host = Mlmmj(tmp_path / "missing", None, BIN, SKEL)
    with pytest.raises(MailHostUnavailable):
        host.create(LIST)
    assert not (tmp_path / "missing").exists()


def test_list_dir_refuses_what_is_not_a_list_address(host):
    for bad in ("../x@example.com", "x@../..", "noat", "@example.com", "a/b@example.com"):
        with pytest.raises(ValueError):
            host.list_dir(bad)


def test_missing_tools_name_the_apt_package(tmp_path):
    with pytest.raises(MailHostUnavailable) as caught:
        require_mlmmj(tmp_path, SKEL)
    assert INSTALL_COMMAND in caught.value.detail and "mlmmj-sub" in caught.value.detail
    require_mlmmj(BIN, SKEL)


# -- subscribers -------------------------------------------------------------------------


def test_subscribe_each_version_and_read_back_with_mlmmj_list(host):
    path = host.create(LIST)
    host.subscribe(LIST, ["alice@example.org", "bob@example.net"])
    host.subscribe(LIST, ["carol@example.org"], "digest")
    host.subscribe(LIST, ["dave@example.org"], "nomail")
    assert mlmmj_list(path) == ["alice@example.org", "bob@example.net"]
    assert mlmmj_list(path, "-d") == ["carol@example.org"]
    assert mlmmj_list(path, "-n") == ["dave@example.org"]
    # mlmmj's own format: one file per first letter, one address per line.
    assert (path / "subscribers.d" / "a").read_text() == "alice@example.org\n"
    assert (path / "digesters.d" / "c").read_text() == "carol@example.org\n"
    assert host.subscribers(LIST) == {
        "normal": ["alice@example.org", "bob@example.net"],
        "digest": ["carol@example.org"],
        "nomail": ["dave@example.org"],
    }


def test_silent_subscription_sends_no_mail_and_is_idempotent(host):
    path = host.create(LIST)
    host.subscribe(LIST, ["alice@example.org"])
    host.subscribe(LIST, ["alice@example.org"])
    assert mlmmj_list(path) == ["alice@example.org"]
    assert list((path / "queue").glob("*")) == [path / "queue" / "discarded"]


def test_subscribing_to_another_version_moves_the_address(host):
    path = host.create(LIST)
    host.subscribe(LIST, ["alice@example.org"])
    host.subscribe(LIST, ["alice@example.org"], "digest")
    assert mlmmj_list(path) == [] and mlmmj_list(path, "-d") == ["alice@example.org"]


def test_confirmation_leaves_a_pending_request_not_a_subscription(host):
    path = host.create(LIST)
    host.subscribe(LIST, ["erin@example.org"], confirm=True)
    assert mlmmj_list(path) == []
    pending = [p.name for p in (path / "subconf").iterdir()]
    assert len(pending) == 1 and pending[0].endswith("-erin=example.org")
    queued = [p for p in (path / "queue").iterdir() if p.is_file() and "." not in p.name]
    assert len(queued) == 1 and "erin@example.org" in queued[0].read_text(errors="replace")


def test_unsubscribe_removes_from_every_version(host):
    path = host.create(LIST)
    host.subscribe(LIST, ["alice@example.org"])
    host.subscribe(LIST, ["carol@example.org"], "digest")
    host.subscribe(LIST, ["dave@example.org"], "nomail")
    host.unsubscribe(LIST, ["alice@example.org", "carol@example.org", "nobody@example.org"])
    assert mlmmj_list(path) == [] and mlmmj_list(path, "-d") == []
    assert mlmmj_list(path, "-n") == ["dave@example.org"]


def test_tools_need_the_list_directory(host):
    with pytest.raises(errors.NotFound):
        host.subscribe(LIST, ["alice@example.org"])
    with pytest.raises(errors.NotFound):
        host.subscribers(LIST)


def test_a_failing_tool_is_a_logged_500(host, caplog):
    path = host.create(LIST)
    # A file where mlmmj expects its subscribers directory (modes would not stop root).
    (path / "subscribers.d").rmdir()
    (path / "subscribers.d").write_text("")
    with pytest.raises(MailHostError) as caught:
        host.subscribers(LIST)
    assert caught.value.status == 500 and "subscribers.d" not in caught.value.detail
    assert "mlmmj-list" in caplog.text


# -- control files -------------------------------------------------------------------------


def test_control_files_of_every_kind(host):
    path = host.create(LIST)
    control = path / "control"
    host.write_control(LIST, "closedlist", FLAG, True)
    host.write_control(LIST, "prefix", LINE, "[team]")
    host.write_control(LIST, "owner", LINES, ["a@example.com", "b@example.com"])
    host.write_control(LIST, "moderators", LINES, ["m@example.com"])
    host.write_control(LIST, "footer_text", TEXT, "-- \nthe team\n\n")
    assert (control / "closedlist").read_text() == ""
    assert (control / "prefix").read_text() == "[team]\n"
    assert (control / "owner").read_text() == "a@example.com\nb@example.com\n"
    assert (control / "footer_text").read_text() == "-- \nthe team\n"
    assert host.read_control(LIST, "closedlist", FLAG) is True
    assert host.read_control(LIST, "prefix", LINE) == "[team]"
    assert host.read_control(LIST, "footer_text", TEXT) == "-- \nthe team"
    # mlmmj reads the same files.
    assert mlmmj_list(path, "-o") == ["a@example.com", "b@example.com"]
    assert mlmmj_list(path, "-m") == ["m@example.com"]
    assert not [p for p in control.iterdir() if p.name.startswith(".")]


def test_false_and_empty_remove_the_control_file(host):
    path = host.create(LIST)
    host.write_control(LIST, "closedlist", FLAG, True)
    host.write_control(LIST, "prefix", LINE, "[x]")
    host.write_control(LIST, "owner", LINES, ["a@example.com"])
    host.write_control(LIST, "closedlist", FLAG, False)
    host.write_control(LIST, "prefix", LINE, "")
    host.write_control(LIST, "owner", LINES, [])
    assert sorted(p.name for p in (path / "control").iterdir()) == ["listaddress"]
    assert host.read_control(LIST, "closedlist", FLAG) is False
    assert host.read_control(LIST, "owner", LINES) == []


def test_a_flag_keeps_an_existing_file_content(host):
    path = host.create(LIST)
    host.write_control(LIST, "submod", LINES, ["m@example.com"])
    host.write_control(LIST, "submod", FLAG, True)
    assert (path / "control" / "submod").read_text() == "m@example.com\n"


def test_owner_setting_chowns_what_is_created(mlmmj_spool):
    name = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
    entry = pwd.getpwnam(name)
    host = Mlmmj(*mlmmj_spool, BIN, SKEL, owner=name)
    path = host.create(LIST)
    host.write_control(LIST, "prefix", LINE, "[x]")
    for item in [path, path.parent, *path.rglob("*")]:
        assert item.stat().st_uid == entry.pw_uid, item


# -- archive and removal ------------------------------------------------------------------


def test_archive_moves_the_directory_below_the_archive(host, mlmmj_spool):
    host.create(LIST)
    host.subscribe(LIST, ["alice@example.org"])
    target = host.archive(LIST)
    assert target.parent == mlmmj_spool[1] / "example.com"
    assert target.name.startswith("team-") and len(target.name) == len("team-20240101120000")
    assert not host.exists(LIST)
    assert mlmmj_list(target) == ["alice@example.org"]
    host.create(LIST)
    second = host.archive(LIST)
    assert second != target and second.parent == target.parent


def test_archive_without_archive_dir_renames_in_place(mlmmj_spool):
    host = Mlmmj(mlmmj_spool[0], "", BIN, SKEL)
    host.create(LIST)
    target = host.archive(LIST)
    assert target.parent == mlmmj_spool[0] / "example.com"
    assert host.archive(LIST) is None


def test_discard_removes_the_directory(host):
    path = host.create(LIST)
    host.discard(LIST)
    assert not path.exists()
    host.discard(LIST)
