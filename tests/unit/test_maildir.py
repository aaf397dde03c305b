"""Mailbox paths: iRedAdmin's generate_maildir_path layout (model 4.4)."""

from __future__ import annotations

import time

import pytest

from iredapi_ldap.config import DEFAULTS
from iredapi_ldap.models.users.maildir import home_directory
from iredapi_ldap.models.users.maildir import maildir_path

NOW = time.strptime("2026-05-14 10:22:33", "%Y-%m-%d %H:%M:%S")
STAMP = "-2026.05.14.10.22.33"


def config(**changes):
    return {**DEFAULTS, **changes}


def test_default_layout_matches_the_reference_example():
    assert (
        home_directory("john.smith@example.com", config(), now=NOW)
        == f"/var/vmail/vmail1/example.com/j/o/h/john.smith{STAMP}/"
    )


@pytest.mark.parametrize(
    ("mail", "expected"),
    [
        ("a@example.com", f"example.com/a/_/_/a{STAMP}/"),
        ("ab@example.com", f"example.com/a/b/_/ab{STAMP}/"),
        ("abc@example.com", f"example.com/a/b/c/abc{STAMP}/"),
        ("a.b@example.com", f"example.com/a/_/b/a.b{STAMP}/"),
        ("a~b@example.com", f"example.com/a/_/b/a~b{STAMP}/"),
        ("a.@example.com", f"example.com/a/_/_/a.{STAMP}/"),
        ("JOHN@Example.COM", f"example.com/j/o/h/john{STAMP}/"),
        ("#-x@example.com", f"example.com/#/-/x/#-x{STAMP}/"),
    ],
)
def test_hash_directories_pad_short_names_and_replace_dots_and_tildes(mail, expected):
    assert maildir_path(mail, config(), now=NOW) == expected


def test_timestamp_is_local_time_by_default(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        path = maildir_path("bob@example.com", config())
        expected = time.strftime("-%Y.%m.%d.%H", time.localtime())
        assert expected in path
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_every_option_can_be_switched_off():
    off = config(MAILDIR_HASHED=False, MAILDIR_PREPEND_DOMAIN=False, MAILDIR_APPEND_TIMESTAMP=False)
    assert maildir_path("john@example.com", off, now=NOW) == "john/"
    assert maildir_path("john@example.com", config(MAILDIR_HASHED=False), now=NOW) == (
        f"example.com/john{STAMP}/"
    )
    assert maildir_path("john@example.com", config(MAILDIR_APPEND_TIMESTAMP=False)) == (
        "example.com/j/o/h/john/"
    )
    assert maildir_path("john@example.com", config(MAILDIR_PREPEND_DOMAIN=False), now=NOW) == (
        f"j/o/h/john{STAMP}/"
    )


@pytest.mark.parametrize(
    ("domain", "prefix"),
    [
        ("example.com", "e/x/example.com/"),
        ("x.com", "x/_/x.com/"),
        ("a-b.com", "a/_/a-b.com/"),
        ("9z.net", "9/z/9z.net/"),
    ],
)
def test_hashed_domain_prefix(domain, prefix):
    path = maildir_path(f"john@{domain}", config(MAILDIR_DOMAIN_HASHED=True), now=NOW)
    assert path == f"{prefix}j/o/h/john{STAMP}/"


def test_storage_base_comes_from_config_or_the_domain():
    custom = config(STORAGE_BASE_DIRECTORY="/srv/mail/")
    assert home_directory("jo@example.com", custom, now=NOW) == (
        f"/srv/mail/example.com/j/o/_/jo{STAMP}/"
    )
    assert home_directory("jo@example.com", custom, base="/data/vmail2", now=NOW) == (
        f"/data/vmail2/example.com/j/o/_/jo{STAMP}/"
    )
