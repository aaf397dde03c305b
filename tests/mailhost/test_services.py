"""Service control through the helper's command backend, with real daemons and pidfiles.

systemd is not PID 1 here, as in CI, so the helper is configured with `backend = command`:
a small real daemon (dummy_daemon.py) stands in for clamd and Amavisd. The tests check the
process and its pidfile, the Amavisd drop-in as written on disk, and the status read back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from iredapi_ldap import errors
from iredapi_ldap.mailhost import roothelper
from iredapi_ldap.mailhost.helper import Helper
from iredapi_ldap.mailhost.mlmmj import MailHostUnavailable
from iredapi_ldap.mailhost.services import Services
from tests.helpers import alive
from tests.helpers import command_section
from tests.helpers import pid_of
from tests.postfixserver import HELPER_COMMAND

START_DELAY = 1.5


def write_config(path: Path, backend: str = "command", **sections) -> Path:
    """Write a root-owned helper config for the command backend."""
    lines = ["[services]", f"backend = {backend}", f"amavis_dropin = {dropin_of(path)}"]
    lines.append("timeout = 10")
    for name, values in sections.items():
        lines += [f"[command:{name}]", *(f"{key} = {value}" for key, value in values.items())]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o644)
    return path


def dropin_of(config: Path) -> Path:
    """Return the Amavisd drop-in path the config names."""
    return config.parent / "amavis" / "conf.d" / "60-iredapi-ldap"


@pytest.fixture
def host(tmp_path):
    """A config dir with run/ and amavis/conf.d/; kills any dummy daemon left at the end."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    dropin_of(tmp_path / "helper.ini").parent.mkdir(parents=True)
    yield tmp_path
    for pidfile in run_dir.glob("*.pid"):
        pid = pid_of(pidfile)
        if pid:
            os.kill(pid, signal.SIGKILL)


def services(config: Path, backend: str = "command") -> Services:
    """Return the API-side client running the helper directly (no sudo), as root does."""
    return Services(Helper(HELPER_COMMAND, [], str(config)), backend)


def make(host: Path, clamav_delay: float = 0.0) -> tuple[Services, Path]:
    """Configure clamav and amavis as dummy daemons; return (client, config)."""
    run_dir = host / "run"
    config = write_config(
        host / "helper.ini",
        clamav=command_section(run_dir, "clamav", clamav_delay),
        amavis=command_section(run_dir, "amavis"),
    )
    return services(config), config


def test_clamav_on_and_off_with_a_real_daemon(host):
    """on starts the daemon and lifts the virus bypass; off stops it and sets the bypass."""
    client, config = make(host)
    pidfile = host / "run" / "clamav.pid"
    status = client.status("clamav")
    assert status["status"] == "off" and status["units"]["clamav"]["active"] == "inactive"
    assert status["amavis_checks"] == "enabled"

    status = client.switch("clamav", True)
    pid = pid_of(pidfile)
    assert pid is not None
    assert status["status"] == "on" and status["units"]["clamav"]["pid"] == str(pid)
    assert "@bypass_virus_checks_maps" not in dropin_of(config).read_text()

    status = client.switch("clamav", False)
    assert pid_of(pidfile) is None and not pidfile.exists()
    assert not alive(pid)
    text = dropin_of(config).read_text()
    assert "@bypass_virus_checks_maps = (1);" in text and text.rstrip().endswith("# end of file")
    assert status["status"] == "off" and status["amavis_checks"] == "bypassed"
    assert client.status("clamav")["status"] == "off"


def test_a_running_daemon_with_the_bypass_set_is_off(host):
    """clamd running while Amavisd skips virus checks reports off: mail is not scanned."""
    client, config = make(host)
    client.switch("clamav", True)
    dropin_of(config).write_text("@bypass_virus_checks_maps = (1);\n1;\n")
    status = client.status("clamav")
    assert status["units"]["clamav"]["active"] == "active"
    assert (status["status"], status["amavis_checks"]) == ("off", "bypassed")


def test_changing_state_answers_409(host):
    """While a start is under way, status says changing and another switch is a 409."""
    client, _config = make(host, clamav_delay=START_DELAY)
    results = {}
    starter = threading.Thread(target=lambda: results.update(on=client.switch("clamav", True)))
    starter.start()
    try:
        deadline = time.monotonic() + 5
        while client.status("clamav")["status"] != "changing":
            assert time.monotonic() < deadline, "the start was never seen as changing"
            time.sleep(0.05)
        with pytest.raises(errors.Conflict) as caught:
            client.switch("clamav", False)
        assert caught.value.status == 409 and caught.value.code == "SERVICE_BUSY"
    finally:
        starter.join(timeout=15)
    assert results["on"]["status"] == "on"
    assert pid_of(host / "run" / "clamav.pid") is not None


def test_spamassassin_switch_restarts_amavis(host):
    """spamassassin off/on toggles Amavisd's spam bypass and restarts the Amavisd daemon."""
    client, config = make(host)
    client.switch("amavis", True)
    first = pid_of(host / "run" / "amavis.pid")
    assert client.status("spamassassin")["status"] == "on"

    status = client.switch("spamassassin", False)
    second = pid_of(host / "run" / "amavis.pid")
    assert "@bypass_spam_checks_maps = (1);" in dropin_of(config).read_text()
    assert second is not None and second != first
    assert (status["status"], status["amavis_checks"]) == ("off", "bypassed")

    status = client.switch("spamassassin", True)
    assert "@bypass_spam_checks_maps" not in dropin_of(config).read_text()
    assert pid_of(host / "run" / "amavis.pid") not in (None, second)
    assert (status["status"], status["amavis_checks"]) == ("on", "enabled")


def test_dropin_keeps_the_other_switch(host):
    """Turning one check back on keeps the other service's bypass line."""
    client, config = make(host)
    client.switch("amavis", True)
    client.switch("clamav", False)
    client.switch("spamassassin", False)
    client.switch("clamav", True)
    text = dropin_of(config).read_text()
    assert "@bypass_spam_checks_maps = (1);" in text and "virus" not in text
    assert roothelper.read_dropin(str(dropin_of(config))) == {"@bypass_spam_checks_maps"}


def test_clamav_without_amavisd_switches_clamd_alone(host):
    """With no Amavisd (no conf.d, no amavis service) clamav on/off is clamd alone."""
    dropin_of(host / "helper.ini").parent.rmdir()
    config = write_config(host / "helper.ini", clamav=command_section(host / "run", "clamav"))
    client = services(config)
    assert client.switch("clamav", True)["status"] == "on"
    assert pid_of(host / "run" / "clamav.pid") is not None
    assert client.switch("clamav", False)["status"] == "off"
    assert pid_of(host / "run" / "clamav.pid") is None
    assert not dropin_of(config).parent.exists()


def test_amavis_cannot_be_switched_off(host):
    """amavis off is refused by the client (400) and by the helper itself (64)."""
    client, config = make(host)
    with pytest.raises(errors.ValidationFailed) as caught:
        client.switch("amavis", False)
    assert caught.value.errors == {"service": ["One of: clamav, spamassassin."]}
    result = subprocess.run(
        [*HELPER_COMMAND, "--config", str(config), "service-off", "amavis"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 64 and '"field": "service"' in result.stdout


@pytest.mark.parametrize("name", ["sshd", "", "clamav;id", "ClamAV"])
def test_unknown_service_is_400(host, name):
    """A service outside the fixed set is a 400 naming the field."""
    client, _config = make(host)
    with pytest.raises(errors.ValidationFailed) as caught:
        client.status(name)
    assert list(caught.value.errors) == ["service"]


def test_a_service_not_installed_is_503(host):
    """Without a [command:clamav] section, clamav is reported as not installed (not off)."""
    config = write_config(host / "helper.ini", amavis=command_section(host / "run", "amavis"))
    with pytest.raises(MailHostUnavailable) as caught:
        services(config).status("clamav")
    assert caught.value.status == 503 and caught.value.code == "SERVICE_UNAVAILABLE"
    assert "clamav is not installed" in caught.value.detail


def test_a_start_command_that_is_missing_is_503(host):
    """A start command that does not exist is 'not installed', and nothing is written."""
    config = write_config(
        host / "helper.ini",
        clamav={"start": "/nonexistent/clamd", "pidfile": str(host / "run" / "c.pid")},
    )
    with pytest.raises(MailHostUnavailable) as caught:
        services(config).switch("clamav", True)
    assert "not installed" in caught.value.detail
    assert not dropin_of(config).exists()


def test_without_systemd_the_systemd_backend_is_503_not_off(host):
    """systemd not being PID 1 (CI, containers) is 'unavailable', never read as 'off'."""
    config = write_config(host / "helper.ini", backend="systemd")
    with pytest.raises(MailHostUnavailable) as caught:
        services(config, backend="systemd").status("clamav")
    if Path("/run/systemd/system").is_dir():  # a host with systemd but without ClamAV
        assert "is not installed" in caught.value.detail
    else:
        assert "systemd is not running" in caught.value.detail


def test_backend_none_is_503(host):
    """service_backend = none answers 503 in the API and in the helper."""
    config = write_config(host / "helper.ini", backend="none")
    with pytest.raises(MailHostUnavailable) as caught:
        services(config, backend="none").status("clamav")
    assert caught.value.code == "SERVICE_CONTROL_UNAVAILABLE"
    with pytest.raises(MailHostUnavailable) as caught:
        services(config, backend="command").switch("clamav", True)
    assert caught.value.code == "SERVICE_UNAVAILABLE" and "turned off" in caught.value.detail
