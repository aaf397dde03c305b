"""Configuration: defaults, the INI file, and validation."""

from __future__ import annotations

import configparser
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .passwords import SCHEMES

ENV_VAR = "IREDAPI_LDAP_CONFIG"


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid."""


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "yes", "true", "on"):
        return True
    if lowered in ("0", "no", "false", "off"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _int(text: str) -> int:
    return int(text.strip())


def _float(text: str) -> float:
    return float(text.strip())


def _str(text: str) -> str:
    return text.strip()


def _raw(text: str) -> str:
    # Passwords keep every character, including leading/trailing spaces and '%'.
    return text


# (section, key) -> (Flask config name, converter, default). One table, so the
# INI format, the defaults and config.sample.ini cannot drift apart.
OPTIONS: dict[tuple[str, str], tuple[str, Callable[[str], Any], Any]] = {
    ("ldap", "uri"): ("LDAP_URI", _str, "ldap://127.0.0.1:389"),
    ("ldap", "bind_dn"): ("LDAP_BIND_DN", _str, "cn=vmailadmin,dc=example,dc=com"),
    ("ldap", "bind_password"): ("LDAP_BIND_PASSWORD", _raw, ""),
    ("ldap", "suffix"): ("LDAP_SUFFIX", _str, "dc=example,dc=com"),
    ("ldap", "connect_timeout"): ("LDAP_CONNECT_TIMEOUT", _int, 5),
    ("ldap", "receive_timeout"): ("LDAP_RECEIVE_TIMEOUT", _int, 30),
    ("ldap", "page_size"): ("LDAP_PAGE_SIZE", _int, 500),
    ("ldap", "pool_size"): ("LDAP_POOL_SIZE", _int, 10),
    ("ldap", "start_tls"): ("LDAP_START_TLS", _bool, False),
    ("ldap", "ca_file"): ("LDAP_CA_FILE", _str, ""),
    ("ldap", "transactions"): ("LDAP_TRANSACTIONS", _bool, False),
    ("ldap", "counter_flush_seconds"): ("LDAP_COUNTER_FLUSH_SECONDS", _float, 1.0),
    ("ldap", "counter_recount_seconds"): ("LDAP_COUNTER_RECOUNT_SECONDS", _float, 300.0),
    # Empty: var/counter-locks below the working directory.
    ("ldap", "counter_lock_dir"): ("LDAP_COUNTER_LOCK_DIR", _str, ""),
    ("general", "secret_key"): ("SECRET_KEY", _raw, ""),
    ("general", "session_timeout"): ("SESSION_TIMEOUT_MINUTES", _int, 30),
    ("general", "session_cookie_secure"): ("SESSION_COOKIE_SECURE", _bool, False),
    ("general", "max_content_length"): ("MAX_CONTENT_LENGTH", _int, 1048576),
    ("general", "log_level"): ("LOG_LEVEL", _str, "INFO"),
    ("api", "default_page_size"): ("API_DEFAULT_PAGE_SIZE", _int, 100),
    ("api", "max_page_size"): ("API_MAX_PAGE_SIZE", _int, 1000),
    ("api", "max_values_per_field"): ("API_MAX_VALUES_PER_FIELD", _int, 1000),
    ("api", "enable_api"): ("ENABLE_API", _bool, True),
    ("api", "restrict_api_access"): ("RESTRICT_API_ACCESS", _bool, False),
    ("api", "api_clients"): ("API_CLIENTS", _str, ""),
    ("api", "trusted_proxies"): ("TRUSTED_PROXIES", _str, ""),
    ("api", "domain_admin_transports"): ("DOMAIN_ADMIN_TRANSPORTS", _str, ""),
    # Empty: a SQLite file at var/login-limits.sqlite below the working directory.
    ("security", "rate_limit_storage"): ("RATE_LIMIT_STORAGE", _str, ""),
    ("security", "login_failures_per_account"): (
        "LOGIN_FAILURES_PER_ACCOUNT",
        _str,
        "5/15minutes",
    ),
    ("security", "login_failures_per_address"): (
        "LOGIN_FAILURES_PER_ADDRESS",
        _str,
        "20/15minutes",
    ),
    ("security", "token_cache_seconds"): ("TOKEN_CACHE_SECONDS", _int, 5),
    ("security", "trusted_client_days"): ("TRUSTED_CLIENT_DAYS", _int, 30),
    ("domain", "default_mta_transport"): ("DEFAULT_MTA_TRANSPORT", _str, "dovecot"),
    ("domain", "default_language"): ("DEFAULT_LANGUAGE", _str, "en_US"),
    ("domain", "additional_enabled_services"): (
        "ADDITIONAL_ENABLED_DOMAIN_SERVICES",
        _str,
        "",
    ),
    ("mailbox", "storage_base_directory"): ("STORAGE_BASE_DIRECTORY", _str, "/var/vmail/vmail1"),
    ("mailbox", "maildir_hashed"): ("MAILDIR_HASHED", _bool, True),
    ("mailbox", "maildir_prepend_domain"): ("MAILDIR_PREPEND_DOMAIN", _bool, True),
    ("mailbox", "maildir_append_timestamp"): ("MAILDIR_APPEND_TIMESTAMP", _bool, True),
    ("mailbox", "maildir_domain_hashed"): ("MAILDIR_DOMAIN_HASHED", _bool, False),
    ("mailbox", "mailbox_format"): ("MAILBOX_FORMAT", _str, "maildir"),
    ("mailbox", "mailbox_folder"): ("MAILBOX_FOLDER", _str, "Maildir"),
    ("password", "default_scheme"): ("DEFAULT_PASSWORD_SCHEME", _str, "SSHA512"),
    ("password", "min_length"): ("PASSWORD_MIN_LENGTH", _int, 8),
    ("password", "max_length"): ("PASSWORD_MAX_LENGTH", _int, 0),
    ("password", "require_letter"): ("PASSWORD_REQUIRE_LETTER", _bool, True),
    ("password", "require_uppercase"): ("PASSWORD_REQUIRE_UPPERCASE", _bool, True),
    ("password", "require_digit"): ("PASSWORD_REQUIRE_DIGIT", _bool, True),
    ("password", "require_special"): ("PASSWORD_REQUIRE_SPECIAL", _bool, True),
    ("password", "special_characters"): (
        "PASSWORD_SPECIAL_CHARACTERS",
        _str,
        "#$%&*+-,.:;!=<>'\"?@[]/(){}_`~",
    ),
    ("user", "additional_enabled_services"): ("ADDITIONAL_ENABLED_USER_SERVICES", _str, ""),
    # Empty: a SQLite file at var/iredapi-ldap.sqlite below the working directory.
    ("sql", "url"): ("SQL_URL", _str, ""),
    ("sql", "echo"): ("SQL_ECHO", _bool, False),
    ("sql", "audit_keep_days"): ("SQL_AUDIT_KEEP_DAYS", _int, 0),
    ("sql", "iredadmin_log"): ("SQL_IREDADMIN_LOG", _bool, False),
    # Empty: a SQLite file at var/iredapd.sqlite below the working directory.
    ("iredapd", "url"): ("IREDAPD_URL", _str, ""),
    # Empty: a SQLite file at var/amavisd.sqlite below the working directory.
    ("amavisd", "url"): ("AMAVISD_URL", _str, ""),
    ("mlmmj", "spool_dir"): ("MLMMJ_SPOOL_DIR", _str, "/var/vmail/mlmmj"),
    ("mlmmj", "archive_dir"): ("MLMMJ_ARCHIVE_DIR", _str, "/var/vmail/mlmmj-archive"),
    ("mlmmj", "transport_name"): ("MLMMJ_TRANSPORT_NAME", _str, "mlmmj"),
    ("mlmmj", "bin_dir"): ("MLMMJ_BIN_DIR", _str, "/usr/bin"),
    ("mlmmj", "skel_dir"): ("MLMMJ_SKEL_DIR", _str, "/usr/share/mlmmj/text.skel"),
    ("mlmmj", "owner"): ("MLMMJ_OWNER", _str, ""),
    ("mailhost", "helper_command"): (
        "MAILHOST_HELPER_COMMAND",
        _str,
        "/usr/local/libexec/iredapi-ldap/mailhost-helper",
    ),
    ("mailhost", "sudo_command"): ("MAILHOST_SUDO_COMMAND", _str, "sudo -n"),
    ("mailhost", "helper_config"): ("MAILHOST_HELPER_CONFIG", _str, ""),
    ("mailhost", "postfix_config_dir"): ("MAILHOST_POSTFIX_CONFIG_DIR", _str, ""),
    ("mailhost", "service_backend"): ("MAILHOST_SERVICE_BACKEND", _str, "systemd"),
    ("mailhost", "helper_timeout"): ("MAILHOST_HELPER_TIMEOUT", _int, 120),
    ("jobs", "sync_limit"): ("JOBS_SYNC_LIMIT", _int, 2000),
    ("jobs", "parallelism"): ("JOBS_PARALLELISM", _int, 4),
    ("jobs", "heartbeat_seconds"): ("JOBS_HEARTBEAT_SECONDS", _float, 1.0),
    ("jobs", "stale_seconds"): ("JOBS_STALE_SECONDS", _int, 30),
    ("jobs", "poll_seconds"): ("JOBS_POLL_SECONDS", _int, 2),
}

DEFAULTS: dict[str, Any] = {name: default for name, _conv, default in OPTIONS.values()}

REQUIRED = ("LDAP_URI", "LDAP_BIND_DN", "LDAP_SUFFIX", "SECRET_KEY")


def load_ini(path: str | os.PathLike[str], given_by: str = "--config") -> dict[str, Any]:
    """Read an INI file into flat Flask config names."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"Config file not found: {file} (given by: {given_by})")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(file, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"Cannot parse config file {file}: {exc}") from exc
    known_sections = {section for section, _key in OPTIONS}
    result: dict[str, Any] = {}
    for section in parser.sections():
        if section not in known_sections:
            raise ConfigError(f"{file}: unknown section [{section}]")
        for key, text in parser.items(section):
            option = OPTIONS.get((section, key))
            if option is None:
                raise ConfigError(f"{file}: unknown key '{key}' in [{section}]")
            name, convert, _default = option
            try:
                result[name] = convert(text)
            except ValueError as exc:
                raise ConfigError(f"{file}: [{section}] {key}: {exc}") from exc
    return result


def write_ini(path: str | os.PathLike[str], values: dict[str, Any]) -> None:
    """Write flat Flask config values as an INI file in the sample's format."""
    parser = configparser.ConfigParser(interpolation=None)
    for (section, key), (name, _convert, _default) in OPTIONS.items():
        if name not in values:
            continue
        if not parser.has_section(section):
            parser.add_section(section)
        value = values[name]
        if isinstance(value, bool):
            value = "yes" if value else "no"
        parser.set(section, key, str(value))
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    with open(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        parser.write(out)


def config_path_from_env() -> str | None:
    """Return the INI path named by the environment, if any."""
    return os.environ.get(ENV_VAR) or None


def validate_config(config: dict[str, Any]) -> None:
    """Fail fast on missing or impossible values."""
    missing = [name for name in REQUIRED if not config.get(name)]
    if missing:
        keys = ", ".join(_ini_name(name) for name in missing)
        raise ConfigError(f"Missing required configuration: {keys}")
    for name in (
        "LDAP_PAGE_SIZE",
        "API_DEFAULT_PAGE_SIZE",
        "API_MAX_PAGE_SIZE",
        "API_MAX_VALUES_PER_FIELD",
    ):
        if int(config[name]) < 1:
            raise ConfigError(f"{_ini_name(name)} must be at least 1")
    for name in ("LDAP_COUNTER_FLUSH_SECONDS", "LDAP_COUNTER_RECOUNT_SECONDS"):
        if float(config[name]) < 0:
            raise ConfigError(f"{_ini_name(name)} must not be negative")
    if config["API_DEFAULT_PAGE_SIZE"] > config["API_MAX_PAGE_SIZE"]:
        raise ConfigError("[api] default_page_size must not exceed max_page_size")
    if float(config["JOBS_STALE_SECONDS"]) <= float(config["JOBS_HEARTBEAT_SECONDS"]):
        raise ConfigError("[jobs] stale_seconds must exceed heartbeat_seconds")
    validate_mailhost(config)
    scheme = str(config.get("DEFAULT_PASSWORD_SCHEME") or "SSHA512")
    unknown = [part for part in scheme.upper().split("+") if part not in SCHEMES]
    if unknown:
        raise ConfigError(
            f"[password] default_scheme: unsupported {', '.join(unknown)} "
            f"(choose from {', '.join(SCHEMES)})"
        )


def validate_mailhost(config: dict[str, Any]) -> None:
    """Check the [mailhost] values the helper's command line is built from."""
    import shlex

    if config["MAILHOST_SERVICE_BACKEND"] not in ("systemd", "command", "none"):
        raise ConfigError("[mailhost] service_backend must be systemd, command or none")
    try:
        command = shlex.split(config["MAILHOST_HELPER_COMMAND"])
        shlex.split(config["MAILHOST_SUDO_COMMAND"])
    except ValueError as exc:
        raise ConfigError(f"[mailhost] helper_command or sudo_command: {exc}") from exc
    if not command or not os.path.isabs(command[0]):
        raise ConfigError("[mailhost] helper_command must start with an absolute path")
    for name in ("MAILHOST_HELPER_CONFIG", "MAILHOST_POSTFIX_CONFIG_DIR"):
        if config[name] and not os.path.isabs(config[name]):
            raise ConfigError(f"{_ini_name(name)} must be an absolute path (or empty)")
    if int(config["MAILHOST_HELPER_TIMEOUT"]) < 1:
        raise ConfigError("[mailhost] helper_timeout must be at least 1")


def _ini_name(flask_name: str) -> str:
    for (section, key), (name, _convert, _default) in OPTIONS.items():
        if name == flask_name:
            return f"[{section}] {key}"
    return flask_name
