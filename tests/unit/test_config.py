"""Configuration: INI loading, conversion errors, write round trip, validation."""

from __future__ import annotations

import os
import stat

import pytest

from iredapi_ldap import create_app
from iredapi_ldap.config import DEFAULTS
from iredapi_ldap.config import ENV_VAR
from iredapi_ldap.config import OPTIONS
from iredapi_ldap.config import ConfigError
from iredapi_ldap.config import load_ini
from iredapi_ldap.config import validate_config
from iredapi_ldap.config import write_ini


def write(tmp_path, text: str):
    """Write an INI file and return its path."""
    path = tmp_path / "iredapi.ini"
    path.write_text(text)
    return path


def test_password_keeps_percent_and_spaces(tmp_path):
    """A '%' (no interpolation) and surrounding spaces survive in secrets."""
    path = write(
        tmp_path,
        "[ldap]\nbind_password = 100%sure %(x)s \n[general]\nsecret_key = a%b\n",
    )
    loaded = load_ini(path)
    assert loaded["LDAP_BIND_PASSWORD"] == "100%sure %(x)s"
    assert loaded["SECRET_KEY"] == "a%b"


def test_types_are_converted(tmp_path):
    """Integers and booleans come back typed; strings are stripped."""
    path = write(
        tmp_path,
        "[ldap]\nuri =  ldap://10.0.0.1:389 \npage_size = 250\nstart_tls = yes\n"
        "[general]\nsession_cookie_secure = off\nsession_timeout = 5\n",
    )
    assert load_ini(path) == {
        "LDAP_URI": "ldap://10.0.0.1:389",
        "LDAP_PAGE_SIZE": 250,
        "LDAP_START_TLS": True,
        "SESSION_COOKIE_SECURE": False,
        "SESSION_TIMEOUT_MINUTES": 5,
    }


def test_unknown_section(tmp_path):
    """An unknown section is an error naming the file and the section."""
    path = write(tmp_path, "[ldpa]\nuri = x\n")
    with pytest.raises(ConfigError, match=r"iredapi\.ini: unknown section \[ldpa\]"):
        load_ini(path)


def test_unknown_key(tmp_path):
    """An unknown key is an error naming the key and its section."""
    path = write(tmp_path, "[ldap]\nbind_pw = x\n")
    with pytest.raises(ConfigError, match=r"unknown key 'bind_pw' in \[ldap\]"):
        load_ini(path)


def test_missing_file_names_file_and_source(tmp_path):
    """A missing file's message names the path and who gave it."""
    missing = tmp_path / "nope.ini"
    with pytest.raises(ConfigError) as info:
        load_ini(missing, given_by="$" + ENV_VAR)
    assert str(missing) in str(info.value)
    assert ENV_VAR in str(info.value)


def test_directory_is_not_a_file(tmp_path):
    """A directory given as config file is reported as not found."""
    with pytest.raises(ConfigError, match="not found"):
        load_ini(tmp_path)


@pytest.mark.parametrize(
    "text, match",
    [
        ("[ldap]\npage_size = many\n", r"\[ldap\] page_size"),
        ("[ldap]\nstart_tls = perhaps\n", r"\[ldap\] start_tls: not a boolean"),
        ("[general]\nsession_timeout = 1.5\n", r"\[general\] session_timeout"),
    ],
)
def test_conversion_errors_name_the_key(tmp_path, text, match):
    """A value of the wrong type is reported with section and key."""
    with pytest.raises(ConfigError, match=match):
        load_ini(write(tmp_path, text))


def test_unparsable_file(tmp_path):
    """Syntax errors become ConfigError naming the file."""
    path = write(tmp_path, "uri = no section\n")
    with pytest.raises(ConfigError, match="Cannot parse config file"):
        load_ini(path)


def test_write_round_trip(tmp_path):
    """write_ini then load_ini gives back every option, with a private file mode."""
    values = dict(DEFAULTS)
    values.update(
        LDAP_BIND_PASSWORD="p%ss w0rd",
        SECRET_KEY="k%(x)s",
        LDAP_START_TLS=True,
        SESSION_COOKIE_SECURE=False,
        LDAP_PAGE_SIZE=123,
    )
    path = tmp_path / "sub" / "out.ini"
    write_ini(path, values)
    assert load_ini(path) == values
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "start_tls = yes" in path.read_text()


def test_options_table_defaults_are_consistent():
    """Every option's default survives its own converter (table cannot drift)."""
    for (_section, _key), (name, convert, default) in OPTIONS.items():
        text = ("yes" if default else "no") if isinstance(default, bool) else str(default)
        assert convert(text) == default, name


def test_validate_config_missing_keys():
    """Missing required values are listed by their INI names."""
    config = dict(DEFAULTS, SECRET_KEY="", LDAP_SUFFIX="")
    with pytest.raises(ConfigError) as info:
        validate_config(config)
    assert "[general] secret_key" in str(info.value)
    assert "[ldap] suffix" in str(info.value)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"LDAP_PAGE_SIZE": 0}, r"\[ldap\] page_size must be at least 1"),
        ({"API_MAX_PAGE_SIZE": 0}, r"\[api\] max_page_size must be at least 1"),
        ({"API_MAX_VALUES_PER_FIELD": 0}, r"\[api\] max_values_per_field must be at least 1"),
        ({"API_DEFAULT_PAGE_SIZE": 50, "API_MAX_PAGE_SIZE": 10}, "must not exceed"),
    ],
)
def test_validate_config_impossible_values(changes, match):
    """Impossible paging values are refused with the INI key name."""
    with pytest.raises(ConfigError, match=match):
        validate_config(dict(DEFAULTS, SECRET_KEY="x", **changes))


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"MAILHOST_SERVICE_BACKEND": "sysv"}, r"\[mailhost\] service_backend must be"),
        ({"MAILHOST_HELPER_COMMAND": ""}, r"helper_command must start with an absolute path"),
        ({"MAILHOST_HELPER_COMMAND": "helper"}, r"helper_command must start with an absolute"),
        ({"MAILHOST_SUDO_COMMAND": "sudo 'n"}, r"helper_command or sudo_command"),
        ({"MAILHOST_POSTFIX_CONFIG_DIR": "etc/postfix"}, r"postfix_config_dir must be an abs"),
        ({"MAILHOST_HELPER_CONFIG": "helper.ini"}, r"\[mailhost\] helper_config must be"),
        ({"MAILHOST_HELPER_TIMEOUT": 0}, r"helper_timeout must be at least 1"),
    ],
)
def test_validate_config_mailhost(changes, match):
    """[mailhost] values the helper's command line is built from are checked at start-up."""
    with pytest.raises(ConfigError, match=match):
        validate_config(dict(DEFAULTS, SECRET_KEY="x", **changes))


def test_validate_config_accepts_defaults_with_secret():
    """The defaults plus a secret key are a valid configuration."""
    validate_config(dict(DEFAULTS, SECRET_KEY="x"))


def test_app_reads_ini_and_test_config_wins(tmp_path, monkeypatch):
    """create_app reads the file named by the environment; test_config overrides it."""
    path = write(tmp_path, "[general]\nsecret_key = from-file\nsession_timeout = 7\n")
    monkeypatch.setenv(ENV_VAR, str(path))
    app = create_app({"LDAP_PAGE_SIZE": 42})
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["LDAP_PAGE_SIZE"] == 42
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 7 * 60


def test_app_refuses_missing_config_file(tmp_path, monkeypatch):
    """A config path from the environment that does not exist stops the app factory."""
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "gone.ini"))
    with pytest.raises(ConfigError, match=r"gone\.ini.*\$IREDAPI_LDAP_CONFIG"):
        create_app()
