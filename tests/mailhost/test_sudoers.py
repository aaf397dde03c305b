"""The sudoers drop-in: generated, checked by visudo, and used by the real sudo.

The last test runs the API-side client as a throwaway unprivileged user through the real
`sudo -n` and the drop-in `iredapi-ldap sudoers` writes, then checks that sudo lets through
exactly the helper's verbs. It creates the user and a file in /etc/sudoers.d (the only way
to give the real sudo a rule) and removes both, whatever happens.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iredapi_ldap.mailhost import roothelper
from iredapi_ldap.mailhost.helper import Helper
from iredapi_ldap.mailhost.helper import sudoers_text
from tests.helpers import cli
from tests.postfixserver import helper_config

VISUDO = "/usr/sbin/visudo"
SUDO = "/usr/bin/sudo"


def visudo(path: Path) -> subprocess.CompletedProcess[str]:
    """Check a sudoers file with the real visudo."""
    assert Path(VISUDO).exists(), "visudo is missing: apt-get install sudo"
    return subprocess.run([VISUDO, "-cf", str(path)], capture_output=True, text=True)


def write_ini(path: Path, **mailhost: str) -> Path:
    """Write an API config with only a [mailhost] section."""
    lines = ["[mailhost]", *(f"{key} = {value}" for key, value in mailhost.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_generated_dropin_passes_visudo(tmp_path):
    """The drop-in for a helper with --config and -c is valid sudoers and lists every verb."""
    helper = Helper(["/usr/local/libexec/iredapi-ldap/mailhost-helper"], ["sudo", "-n"],
                    "/etc/iredapi-ldap/mailhost-helper.ini", "/srv/mail/postfix-etc")  # fmt: skip
    text = sudoers_text("nobody", helper)
    path = tmp_path / "dropin"
    path.write_text(text)
    path.chmod(0o440)
    result = visudo(path)
    assert result.returncode == 0, result.stderr + result.stdout
    rules = [line for line in text.splitlines() if "mailhost-helper ^" in line]
    assert len(rules) == len(roothelper.VERBS)
    assert all("--config /etc/iredapi-ldap/mailhost-helper\\.ini " in line for line in rules)
    queue_rules = [line for line in rules if " ^--config" in line and " queue-" in line]
    assert all(" -c /srv/mail/postfix-etc queue-" in line for line in queue_rules)
    assert text.rstrip().endswith("nobody ALL=(root) NOPASSWD: IREDAPI_LDAP_MAILHOST_NOBODY")


@pytest.mark.parametrize(
    "user, command, config",
    [
        ("root", ["/usr/libexec/h"], ""),
        ("Bad User", ["/usr/libexec/h"], ""),
        ("nobody", ["/usr/bin/python3", "/usr/libexec/h"], ""),
        ("nobody", ["/usr/libexec/h h"], ""),
        ("nobody", ["/usr/libexec/h"], "/etc/a b.ini"),
        ("nobody", ["/usr/libexec/h"], "/etc/x#y"),
    ],
)
def test_dropin_refuses_unusable_values(user, command, config):
    """Root, odd user names, a helper with arguments and paths sudoers would misread."""
    with pytest.raises(ValueError):
        sudoers_text(user, Helper(command, ["sudo", "-n"], config))


def test_cli_prints_a_checked_dropin(tmp_path):
    """`iredapi-ldap sudoers --print` prints the drop-in for the configured helper."""
    ini = write_ini(tmp_path / "config.ini", helper_config="/etc/iredapi-ldap/helper.ini")
    result = subprocess.run(
        [*cli(), "sudoers", "--user", "nobody", "--print", "--config", str(ini)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "^--config /etc/iredapi-ldap/helper\\.ini queue-list$" in result.stdout
    path = tmp_path / "printed"
    path.write_text(result.stdout)
    assert visudo(path).returncode == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--user", "no-such-user-x"], "no such system user"),
        (["--user", "nobody", "--output", "/etc/sudoers.d/iredapi.ldap"], "has a dot"),
        (["--user", "root"], "not a usable system user"),
    ],
)
def test_cli_refusals(tmp_path, args, message):
    """Unknown users, root, and drop-in names sudo would skip are refused; nothing is written."""
    ini = write_ini(tmp_path / "config.ini")
    result = subprocess.run(
        [*cli(), "sudoers", *args, "--config", str(ini)], capture_output=True, text=True
    )
    assert result.returncode != 0 and message in result.stderr
    assert not Path("/etc/sudoers.d/iredapi.ldap").exists()


def test_cli_refuses_a_helper_others_could_replace(tmp_path):
    """A helper in a directory others may write to would let them run code as root."""
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o777)
    ini = write_ini(tmp_path / "config.ini", helper_command=str(loose / "helper"))
    output = tmp_path / "dropin"
    result = subprocess.run(
        [*cli(), "sudoers", "--user", "nobody", "--install-helper", "--output", str(output),
         "--config", str(ini)], capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0 and "other users could replace" in result.stderr
    assert str(loose) in result.stderr and not output.exists()


CLIENT = """
import json, os, sys, subprocess, tempfile, threading
from iredapi_ldap import errors
from iredapi_ldap.mailhost.helper import Helper
from iredapi_ldap.mailhost.queue import MailQueue

helper, config, postfix_dir, queue_id, uid, gid = sys.argv[1:]
# Drop root for good, as gunicorn's --user does, before the client runs.
os.setgroups([])
os.setgid(int(gid))
os.setuid(int(uid))
assert os.getuid() == os.geteuid() == int(uid)
client = MailQueue(Helper([helper], ["/usr/bin/sudo", "-n"], config, postfix_dir))
try:
    answer = {"count": client.count(), "hold": client.hold(queue_id)}
except errors.ApiError as exc:
    answer = {"error": [exc.status, exc.code, exc.detail]}
try:
    client.delete("4ABCDE12345")
except errors.ApiError as exc:
    answer["unknown"] = [exc.status, exc.code]
print(json.dumps(answer))
"""


@pytest.fixture
def throwaway_user():
    """Create a system user with no home and no login; delete it afterwards."""
    assert os.geteuid() == 0, "this test creates a system user: run the tests as root"
    name = f"iredapi-t{secrets.token_hex(3)}"
    subprocess.run(
        ["/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
         name], check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield pwd.getpwnam(name)
    finally:
        # userdel fails while another process holds the passwd lock: try again, then say so.
        for _attempt in range(20):
            removed = subprocess.run(["/usr/sbin/userdel", name], capture_output=True, text=True)
            if removed.returncode in (0, 6):  # 6: no such user
                break
            time.sleep(0.25)
        assert removed.returncode in (0, 6), f"userdel {name}: {removed.stderr}"


def test_client_through_real_sudo_as_an_unprivileged_user(mail_queue, tmp_path, throwaway_user):
    """The client as a plain user reaches the helper via sudo -n; sudo refuses anything else."""
    assert Path(SUDO).exists(), "sudo is missing: apt-get install sudo"
    user = throwaway_user.pw_name
    root_dir = tmp_path / "root-owned"
    root_dir.mkdir(mode=0o755)
    helper_path = root_dir / "libexec" / "mailhost-helper"
    config = helper_config(root_dir / "helper.ini", mail_queue)
    ini = write_ini(
        tmp_path / "config.ini",
        helper_command=str(helper_path),
        helper_config=str(config),
        postfix_config_dir=str(mail_queue.config_dir),
    )
    dropin = Path("/etc/sudoers.d") / f"iredapi-ldap-test-{secrets.token_hex(4)}"
    ids = sorted(mail_queue.fill(deferred=2))

    def run_client():
        result = subprocess.run(
            [sys.executable, "-c", CLIENT, str(helper_path), str(config),
             str(mail_queue.config_dir), ids[0], str(throwaway_user.pw_uid),
             str(throwaway_user.pw_gid)], capture_output=True, text=True, cwd="/", timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    try:
        helper_path.parent.mkdir(mode=0o755)
        helper_path.write_bytes(Path(roothelper.__file__).read_bytes())
        helper_path.chmod(0o755)
        refused = run_client()  # the helper is there, the sudoers rule is not yet
        assert refused["error"][:2] == [503, "MAILHOST_HELPER_UNAVAILABLE"]
        assert (
            "sudo refused" in refused["error"][2] and "iredapi-ldap sudoers" in refused["error"][2]
        )
        assert len(mail_queue.queue()) == 2 and {m["queue_name"] for m in mail_queue.queue()} == {
            "deferred"
        }

        result = subprocess.run(
            [*cli(), "sudoers", "--user", user, "--install-helper", "--output", str(dropin),
             "--config", str(ini)], capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert dropin.stat().st_mode & 0o777 == 0o440 and visudo(dropin).returncode == 0
        assert helper_path.read_bytes() == Path(roothelper.__file__).read_bytes()
        assert helper_path.stat().st_mode & 0o777 == 0o755

        answer = run_client()
        assert answer["count"]["total"] == 2 and answer["hold"]["held"] == 1
        assert answer["unknown"] == [404, "NO_SUCH_MESSAGE"]
        assert {i: m["queue_name"] for i, m in mail_queue.by_id().items()} == {
            ids[0]: "hold",
            ids[1]: "deferred",
        }

        base = [SUDO, "-n", str(helper_path), "--config", str(config), "-c",
                str(mail_queue.config_dir)]  # fmt: skip
        refused = [
            [*base, "queue-delete", "ALL"],
            [*base, "queue-delete", ids[1], "ALL"],
            [*base, "queue-delete-queue", "maildrop"],
            [*base[:3], "queue-delete-all-forced"],  # without the pinned --config and -c
            [SUDO, "-n", str(helper_path), "--config", "/tmp/mine.ini", "queue-list"],
            [SUDO, "-n", "/bin/sh", "-c", "id"],
            [SUDO, "-n", "-u", "postfix", str(helper_path), "service-status", "clamav"],
        ]
        for argv in refused:
            denied = subprocess.run(
                argv, capture_output=True, text=True, user=throwaway_user.pw_uid,
                group=throwaway_user.pw_gid, extra_groups=[], cwd="/",
            )  # fmt: skip
            assert denied.returncode == 1 and denied.stderr.startswith("sudo:"), argv
            assert denied.stdout == ""
        assert {i: m["queue_name"] for i, m in mail_queue.by_id().items()} == {
            ids[0]: "hold",
            ids[1]: "deferred",
        }
    finally:
        dropin.unlink(missing_ok=True)
