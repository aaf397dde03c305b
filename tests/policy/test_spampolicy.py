"""Spam policies in Amavisd's database, replayed through Amavisd's per-recipient lookup."""

from __future__ import annotations

import pytest

from iredapi_ldap.errors import ValidationFailed
from iredapi_ldap.models.policy import spampolicy
from iredapi_ldap.models.policy import wblist

BOB = "bob@example.com"
FIELDS = ("bypass_spam_checks", "bypass_virus_checks", "spam_quarantine_to",
          "virus_quarantine_to", "banned_quarantine_to", "spam_subject_tag2", "spam_tag_level",
          "spam_kill_level", "banned_rulenames", "spam_lover")  # fmt: skip


def linked(amavisd):
    """{users.email: (priority, policy_name or None)} through the independent engine."""
    rows = amavisd.rows(
        "users LEFT JOIN policy ON policy.id = users.policy_id",
        "users.email AS email", "users.priority AS priority", "policy.policy_name AS name",
        order_by="users.email",
    )  # fmt: skip
    return {row["email"]: (row["priority"], row["name"]) for row in rows}


def test_a_policy_is_a_row_named_after_the_account_and_linked_from_its_users_row(amavisd):
    """Switches become Y/N, quarantine targets, subject tags and score levels; 6.5 stays 6.5."""
    stored = spampolicy.set_spam_policy(
        amavisd.store, "Example.COM",
        {"bypass_spam_checks": "yes", "bypass_virus_checks": False, "quarantine_spam": "yes",
         "quarantine_banned": "no", "prefix_spam_in_subject": "yes",
         "always_insert_x_spam_headers": True, "spam_score": "6.5",
         "banned_rulenames": "allow_ms_word, ALLOW_MS_EXCEL"},
    )  # fmt: skip

    (row,) = amavisd.rows("policy")
    assert stored == {**row, "users_id": amavisd.rows("users", "id")[0]["id"]}
    assert {key: row[key] for key in ("policy_name", *FIELDS[:9], "spam_subject_tag",
                                      "spam_subject_tag3", "spam_tag2_level", "spam_tag3_level",
                                      "bypass_banned_checks", "bypass_header_checks",
                                      "bad_header_quarantine_to")} == {
        "policy_name": "@example.com", "bypass_spam_checks": "Y", "bypass_virus_checks": "N",
        "spam_quarantine_to": "spam-quarantine", "virus_quarantine_to": "virus-quarantine",
        "banned_quarantine_to": "", "spam_subject_tag2": "[SPAM] ", "spam_tag_level": -100.0,
        "spam_kill_level": 6.5, "banned_rulenames": "ALLOW_MS_WORD,ALLOW_MS_EXCEL",
        "spam_subject_tag": "[SPAM] ", "spam_subject_tag3": "[SPAM] ", "spam_tag2_level": 6.5,
        "spam_tag3_level": 6.5, "bypass_banned_checks": "N", "bypass_header_checks": "N",
        "bad_header_quarantine_to": None,
    }  # fmt: skip
    assert linked(amavisd) == {"@example.com": (5, "@example.com")}
    assert spampolicy.get_spam_policy(amavisd.store, "example.com") == stored
    assert spampolicy.get_spam_policy(amavisd.store, BOB) == {}


def test_two_decimals_are_kept_on_every_database(amavisd):
    """MySQL's FLOAT reads 6.2 back as 6.19999...; the API answers 6.2."""
    stored = spampolicy.set_spam_policy(amavisd.store, BOB, {"spam_score": 6.2})

    assert stored["spam_kill_level"] == 6.2 and stored["spam_tag2_level"] == 6.2
    assert amavisd.rows("policy", "spam_kill_level")[0]["spam_kill_level"] == pytest.approx(6.2)


def test_amavisd_applies_user_then_domain_then_global_per_setting(amavisd):
    """The first non-NULL value over the recipient's rows: inherit falls through."""
    amavisd.install_defaults()
    spampolicy.set_spam_policy(amavisd.store, "global", {"spam_score": 8, "quarantine_spam": "no"})
    spampolicy.set_spam_policy(
        amavisd.store, "example.com", {"spam_score": "5.5", "bypass_virus_checks": "inherit"}
    )
    spampolicy.set_spam_policy(
        amavisd.store, BOB, {"bypass_spam_checks": "yes", "quarantine_spam": "yes",
                             "quarantine_virus": "inherit", "bypass_virus_checks": "inherit"},
    )  # fmt: skip
    settings = amavisd.amavisd.settings

    assert settings(BOB, *FIELDS) == {
        "bypass_spam_checks": "Y", "bypass_virus_checks": "N",  # global's N
        "spam_quarantine_to": "spam-quarantine", "virus_quarantine_to": "virus-quarantine",
        "banned_quarantine_to": None,  # not given to the global PUT: amavisd.conf decides
        "spam_subject_tag2": None, "spam_tag_level": None, "spam_kill_level": 5.5,
        "banned_rulenames": "", "spam_lover": "Y",
    }  # fmt: skip
    assert amavisd.amavisd.setting(BOB, "spam_kill_level") == (5.5, "@example.com")
    assert settings("carol@example.com", "bypass_spam_checks", "spam_quarantine_to") == {
        "bypass_spam_checks": "N", "spam_quarantine_to": "",
    }  # fmt: skip
    assert amavisd.amavisd.setting("dave@other.test", "spam_kill_level") == (8.0, "@.")
    # The installer's switches the API does not manage survive the global PUT.
    assert amavisd.amavisd.setting("dave@other.test", "spam_lover") == ("Y", "@.")


def test_a_recipient_reached_through_an_alias_domain_gets_the_same_policy(amavisd):
    """Amavisd sees bob@alias.test: the API links the alias forms to the same policies."""
    spampolicy.set_spam_policy(amavisd.store, "global", {"spam_score": 9})
    spampolicy.set_spam_policy(
        amavisd.store, "example.com", {"spam_score": 6}, alias_domains=["alias.test", "Alias2.test"]
    )
    spampolicy.set_spam_policy(
        amavisd.store, BOB, {"bypass_spam_checks": "yes"}, alias_domains=["alias.test"]
    )
    setting = amavisd.amavisd.setting

    assert linked(amavisd) == {
        "@.": (0, "@."), "@alias.test": (5, "@example.com"), "@alias2.test": (5, "@example.com"),
        "@example.com": (5, "@example.com"), "bob@alias.test": (10, BOB), BOB: (10, BOB),
    }  # fmt: skip
    assert setting("bob@alias.test", "bypass_spam_checks") == ("Y", "bob@alias.test")
    assert setting("bob@alias.test", "spam_kill_level") == (6.0, "@alias.test")
    assert setting("carol@alias2.test", "spam_kill_level") == (6.0, "@alias2.test")
    assert setting("carol@alias2.test", "bypass_spam_checks") == ("N", "@alias2.test")
    assert setting("dave@other.test", "spam_kill_level") == (9.0, "@.")


def test_alias_domains_follow_a_domain_update(amavisd):
    """sync_alias_domains: the domain's and its users' policies get exactly the new aliases."""
    spampolicy.set_spam_policy(amavisd.store, "example.com", {}, alias_domains=["old.test"])
    spampolicy.set_spam_policy(amavisd.store, BOB, {}, alias_domains=["old.test"])
    wblist.add_wblist(amavisd.store, "@old.test", "inbound", "blacklist", ["x@evil.test"])

    spampolicy.sync_alias_domains(amavisd.store, "example.com", ["new.test"])

    assert linked(amavisd) == {
        "@example.com": (5, "@example.com"), "@new.test": (5, "@example.com"),
        "@old.test": (5, None),  # it still carries a list, so the row stays, unlinked
        "bob@new.test": (10, BOB), BOB: (10, BOB),
    }  # fmt: skip


def test_a_put_replaces_the_settings_it_manages(amavisd):
    """Pro's full replacement: what is not given returns to the default; other columns stay."""
    spampolicy.set_spam_policy(
        amavisd.store, BOB, {"spam_score": 4, "bypass_spam_checks": "yes", "quarantine_spam": "yes"}
    )
    amavisd.sql("UPDATE policy SET spam_admin = 'admin@example.com', spam_lover = 'Y'")
    first_id = amavisd.rows("policy", "id")[0]["id"]

    stored = spampolicy.set_spam_policy(amavisd.store, BOB, {"quarantine_virus": "no"})

    assert (stored["id"], stored["spam_kill_level"], stored["bypass_spam_checks"]) == (
        first_id, None, "N"
    )  # fmt: skip
    assert (stored["spam_quarantine_to"], stored["virus_quarantine_to"]) == (None, "")
    assert (stored["spam_admin"], stored["spam_lover"]) == ("admin@example.com", "Y")
    assert len(amavisd.rows("policy")) == 1 and len(amavisd.rows("users")) == 1


def test_deleting_a_policy_hands_the_account_back_to_the_next_one(amavisd):
    """The row and its alias links go; Amavisd then applies the domain's values."""
    spampolicy.set_spam_policy(amavisd.store, "example.com", {"spam_score": 6})
    spampolicy.set_spam_policy(amavisd.store, BOB, {"spam_score": 3}, alias_domains=["alias.test"])

    assert spampolicy.delete_spam_policy(amavisd.store, "Bob@example.com") is True
    assert spampolicy.delete_spam_policy(amavisd.store, BOB) is False

    assert [row["policy_name"] for row in amavisd.rows("policy")] == ["@example.com"]
    assert linked(amavisd) == {"@example.com": (5, "@example.com")}
    assert amavisd.amavisd.setting(BOB, "spam_kill_level") == (6.0, "@example.com")
    assert spampolicy.get_spam_policy(amavisd.store, BOB) == {}


def test_a_policy_pro_deleted_leaves_a_transparent_row_the_api_replaces(amavisd):
    """Pro deletes only the policy row: the dangling users row is relinked on the next PUT."""
    amavisd.sql(
        "INSERT INTO users (email, priority, policy_id) VALUES ('bob@example.com', 10, 999)"
    )
    assert spampolicy.get_spam_policy(amavisd.store, BOB) == {}

    spampolicy.set_spam_policy(amavisd.store, BOB, {"spam_score": 2})

    assert linked(amavisd) == {BOB: (10, BOB)}


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"bypass_spam_checks": "maybe"}, "bypass_spam_checks"),
        ({"quarantine_virus": 2}, "quarantine_virus"),
        ({"spam_score": "6.555"}, "spam_score"),
        ({"spam_score": -1}, "spam_score"),
        ({"spam_score": "abc"}, "spam_score"),
        ({"spam_score": "nan"}, "spam_score"),
        ({"spam_score": True}, "spam_score"),
        ({"banned_rulenames": "ALLOW_MS_WORD,ALLOW_EVERYTHING"}, "banned_rulenames"),
        ({"spam_lover": "yes"}, "spam_lover"),
    ],
)
def test_a_bad_setting_is_named_and_nothing_is_written(sqlite_amavisd, settings, field):
    """400 naming the field and the value; no policy and no users row appear."""
    with pytest.raises(ValidationFailed) as caught:
        spampolicy.set_spam_policy(sqlite_amavisd.store, BOB, {"spam_score": 5, **settings})

    assert list(caught.value.errors) == [field]
    assert sqlite_amavisd.rows("policy") == [] and sqlite_amavisd.rows("users") == []


def test_every_bad_setting_is_named_at_once(sqlite_amavisd):
    """Three bad fields, three entries in errors."""
    with pytest.raises(ValidationFailed) as caught:
        spampolicy.set_spam_policy(
            sqlite_amavisd.store, "global",
            {"bypass_spam_checks": "?", "spam_score": "x", "banned_rulenames": ["NOPE"]},
        )  # fmt: skip
    assert sorted(caught.value.errors) == ["banned_rulenames", "bypass_spam_checks", "spam_score"]
    assert "'NOPE'" in caught.value.errors["banned_rulenames"][0]
