"""Use cases (services/) against slapd and the SQL store, without the HTTP layer.

The API's inline path and the jobs call these same functions; here they are
called directly, with the progress callback and `each` a job passes.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from iredapi_ldap import errors
from iredapi_ldap import services
from iredapi_ldap.ldap import get_directory
from iredapi_ldap.ldap.directory import dn_depth
from iredapi_ldap.mailhost import get_mlmmj
from iredapi_ldap.models import domains
from iredapi_ldap.passwords import verify_password
from iredapi_ldap.sqlstore import get_store
from iredapi_ldap.sqlstore import used_quota
from tests.helpers import add_admin
from tests.helpers import add_alias
from tests.helpers import add_catchall
from tests.helpers import add_many
from tests.helpers import add_user

BOSS = "boss@admins.test"
NEW_PASSWORD = "Fresh-Pass-2024!"


class Recorder:
    """A progress callback and an `each` that remember what they were given."""

    def __init__(self, directory):
        self.directory = directory
        self.reports: list[tuple[int, int]] = []
        self.batches: list[list[str]] = []

    def progress(self, done, total):
        self.reports.append((done, total))

    def each(self, items, action):
        batch = list(items)
        self.batches.append(batch)
        for item in batch:
            action(self.directory, item)


def make_domain(directory, config, domain):
    services.domains.create_domain(directory, domain, {}, config)


def quota_rows(app, domain):
    with get_store(app).engine.connect() as conn:
        query = sa.select(used_quota.c.username).where(used_quota.c.domain == domain)
        return sorted(conn.execute(query).scalars())


def add_quota_rows(app, *usernames):
    with get_store(app).engine.begin() as conn:
        conn.execute(
            sa.insert(used_quota),
            [
                {"username": u, "bytes": 1, "messages": 1, "domain": u.split("@")[1]}
                for u in usernames
            ],
        )


# -- domain delete ---------------------------------------------------------------------------


def test_delete_domain_deepest_level_first_with_progress(directory, config, raw, module_app):
    """Every entry goes, one level per batch from the deepest; each is reported; mailboxes logged."""
    make_domain(directory, config, "d.example")
    make_domain(directory, config, "keep.example")
    add_user(raw, "a@d.example")
    add_user(raw, "b@d.example", homeDirectory=None, storageBaseDirectory="/var/vmail",
             mailMessageStore="vmail1/b/")  # fmt: skip
    add_catchall(raw, "d.example")
    add_alias(raw, "team@d.example")
    add_quota_rows(module_app, "a@d.example", "k@keep.example")
    total = raw.count(raw.domain_dn("d.example"))  # domain, 4 containers, 2 users, catch-all, alias
    assert total == 9
    seen = Recorder(directory)

    deleted = services.domains.delete_domain(
        directory, "d.example", BOSS, 30, progress=seen.progress, each=seen.each
    )

    assert deleted == total
    assert seen.reports == [(i, total) for i in range(total + 1)]
    depths = [{dn_depth(dn) for dn in batch} for batch in seen.batches]
    assert all(len(d) == 1 for d in depths), depths
    assert [d.pop() for d in depths] == sorted({dn_depth(dn) for b in seen.batches for dn in b},
                                                 reverse=True)  # fmt: skip
    assert raw.entry(raw.domain_dn("d.example")) is None
    assert raw.entry(raw.domain_dn("keep.example")) is not None
    logged = get_store(module_app).deleted_mailboxes(domain="d.example")
    assert sorted((r["username"], r["maildir"], r["admin"]) for r in logged) == [
        ("a@d.example", "/var/vmail/vmail1/d.example/a-2024.01.01.00.00.00/", BOSS),
        ("b@d.example", "/var/vmail/vmail1/b/", BOSS),
    ]
    assert all(r["delete_date"] is not None for r in logged)
    assert quota_rows(module_app, "d.example") == []
    assert quota_rows(module_app, "keep.example") == ["k@keep.example"]


def test_delete_domain_inline_needs_no_callbacks(directory, config, raw, module_app):
    """Without progress or each, the entries are deleted in sequence on the given directory."""
    make_domain(directory, config, "i.example")
    add_user(raw, "a@i.example")
    assert services.domains.delete_domain(directory, "i.example", BOSS, 0) == 6
    assert raw.entry(raw.domain_dn("i.example")) is None
    [row] = get_store(module_app).deleted_mailboxes(domain="i.example")
    assert row["username"] == "a@i.example" and row["delete_date"] is None


def test_resumed_delete_counts_what_the_first_run_did(directory, config, raw):
    """A resumed run deletes what is left and starts its count where the first run stopped."""
    make_domain(directory, config, "r.example")
    for name in ("a", "b", "c"):
        add_user(raw, f"{name}@r.example")
    raw.conn.delete(raw.user_dn("a@r.example"))
    raw.conn.delete(raw.user_dn("b@r.example"))
    seen = Recorder(directory)
    deleted = services.domains.delete_domain(
        directory, "r.example", BOSS, 0, resumed=True, previous_total=8, progress=seen.progress
    )
    assert seen.reports[0] == (2, 8) and seen.reports[-1] == (8, 8) and deleted == 8
    assert raw.entry(raw.domain_dn("r.example")) is None


def test_delete_of_a_missing_domain(directory):
    """A missing domain is NoSuchDomain, unless an interrupted run already deleted it."""
    seen = Recorder(directory)
    with pytest.raises(errors.NoSuchDomain):
        services.domains.delete_domain(directory, "no.example", BOSS, 0, progress=seen.progress)
    assert services.domains.delete_domain(
        directory, "no.example", BOSS, 0, resumed=True, previous_total=5, progress=seen.progress
    ) == 0  # fmt: skip
    assert seen.reports == []


# -- bulk update -----------------------------------------------------------------------------


def test_bulk_update_reports_each_user_and_skips_the_catchall(directory, config, raw):
    """Every user (not the catch-all) is written through `each`, and each one is reported."""
    make_domain(directory, config, "b.example")
    add_many(raw, 5, domain="b.example")
    add_catchall(raw, "b.example")
    seen = Recorder(directory)
    changed = services.users.bulk_update(
        directory, "b.example", {"accountStatus": "disabled", "language": "de_DE"}, config,
        progress=seen.progress, each=seen.each,
    )  # fmt: skip
    assert changed == 5
    assert seen.reports == [(i, 5) for i in range(6)]
    assert [len(batch) for batch in seen.batches] == [5]
    base = raw.domain_dn("b.example")
    assert (
        raw.count(
            base, "(&(objectClass=mailUser)(accountStatus=disabled)(preferredLanguage=de_DE))"
        )
        == 5
    )
    assert raw.entry(raw.user_dn("@b.example"))["accountstatus"] == ["active"]


def test_bulk_update_skips_a_user_deleted_meanwhile(directory, config, raw):
    """A user gone between listing and writing is counted as done but not as changed."""
    make_domain(directory, config, "g.example")
    add_many(raw, 3, domain="g.example")
    seen = Recorder(directory)

    def each(items, action):
        raw.conn.delete(raw.user_dn("user00001@g.example"))
        seen.each(items, action)

    changed = services.users.bulk_update(
        directory, "g.example", {"accountStatus": "disabled"}, config,
        progress=seen.progress, each=each,
    )  # fmt: skip
    assert changed == 2 and seen.reports[-1] == (3, 3)


def test_resumed_bulk_update_writes_only_the_users_left(directory, config, raw):
    """A resumed update writes only users lacking the values; its count starts at those done."""
    make_domain(directory, config, "s.example")
    add_many(raw, 4, domain="s.example")
    for i in (0, 2):
        assert raw.conn.modify(raw.user_dn(f"user{i:05d}@s.example"),
                               {"accountStatus": [("MODIFY_REPLACE", ["disabled"])]})  # fmt: skip
    seen = Recorder(directory)
    changed = services.users.bulk_update(
        directory, "s.example", {"accountStatus": "disabled"}, config,
        resumed=True, previous_total=4, progress=seen.progress, each=seen.each,
    )  # fmt: skip
    assert changed == 2
    assert seen.batches == [[raw.user_dn(f"user{i:05d}@s.example") for i in (1, 3)]]
    assert seen.reports == [(2, 4), (3, 4), (4, 4)]
    base = raw.domain_dn("s.example")
    assert raw.count(base, "(&(objectClass=mailUser)(accountStatus=disabled))") == 4


def test_resumed_bulk_password_writes_everyone_again(directory, config, raw):
    """A password cannot be compared, so a resumed password change writes every user."""
    make_domain(directory, config, "p.example")
    add_many(raw, 3, domain="p.example")
    seen = Recorder(directory)
    services.users.bulk_update(
        directory, "p.example", {"password": NEW_PASSWORD}, config,
        resumed=True, previous_total=3, progress=seen.progress,
    )  # fmt: skip
    assert seen.reports == [(0, 3), (1, 3), (2, 3), (3, 3)]
    hashes = [raw.attrs(raw.user_dn(f"user{i:05d}@p.example"))["userpassword"][0] for i in range(3)]
    assert len(set(hashes)) == 3 and all(verify_password(NEW_PASSWORD, h) for h in hashes)


@pytest.mark.parametrize(
    ("domain", "values", "error"),
    [
        ("none.example", {"accountStatus": "disabled"}, errors.NoSuchDomain),
        ("c.example", {"password": "short"}, errors.ValidationFailed),
    ],
)
def test_bulk_update_checks_before_writing(directory, config, raw, domain, values, error):
    """A missing domain or a password the policy refuses fails before any write or report."""
    make_domain(directory, config, "c.example")
    add_many(raw, 2, domain="c.example")
    before = raw.snapshot(raw.domain_dn("c.example"))
    seen = Recorder(directory)
    with pytest.raises(error):
        services.users.bulk_update(directory, domain, values, config, progress=seen.progress)
    assert seen.reports == [] and raw.snapshot(raw.domain_dn("c.example")) == before


# -- users ------------------------------------------------------------------------------------


def test_delete_user_logs_the_mailbox_and_drops_its_rows(directory, config, raw, module_app):
    """Deleting a user logs its mailbox for the cleanup cron and drops its quota row."""
    make_domain(directory, config, "u.example")
    add_user(raw, "gone@u.example")
    add_quota_rows(module_app, "gone@u.example", "stay@u.example")
    services.users.delete_user(directory, "gone@u.example", BOSS, 7)
    assert raw.entry(raw.user_dn("gone@u.example")) is None
    [row] = get_store(module_app).deleted_mailboxes(username="gone@u.example")
    assert row["admin"] == BOSS and row["delete_date"] is not None
    assert quota_rows(module_app, "u.example") == ["stay@u.example"]


def test_change_email_moves_the_sql_rows(directory, config, raw, module_app):
    """A renamed user's quota row follows it to the new address."""
    make_domain(directory, config, "m.example")
    add_user(raw, "old@m.example")
    add_quota_rows(module_app, "old@m.example")
    profile = services.users.change_email(directory, "old@m.example", "new@m.example")
    assert profile["mail"] == "new@m.example"
    assert raw.entry(raw.user_dn("old@m.example")) is None
    assert quota_rows(module_app, "m.example") == ["new@m.example"]


# -- domains and admins ----------------------------------------------------------------------


def test_create_domain_managed_by_an_admin(directory, config, raw):
    """A domain created for an admin names it in domainAdmin; without one it has no admin."""
    add_admin(raw, BOSS)
    profile = services.domains.create_domain(directory, "n.example", {}, config, managed_by=BOSS)
    assert profile["admins"] == [BOSS]
    assert raw.attrs(raw.domain_dn("n.example"))["domainadmin"] == [BOSS]
    assert services.domains.create_domain(directory, "o.example", {}, config)["admins"] == []


def test_update_domain_status_marks_the_accounts(directory, config, raw):
    """Disabling a domain marks its accounts with domainStatus: disabled."""
    make_domain(directory, config, "t.example")
    user = add_user(raw, "a@t.example")
    profile = services.domains.update_domain(
        directory, "t.example", {"accountStatus": "disabled"}, config
    )
    assert profile["accountStatus"] == "disabled"
    assert raw.attrs(user)["domainstatus"] == ["disabled"]


def test_admin_create_update_delete_keep_the_domains_in_step(directory, config, raw):
    """The domains an admin manages name it after create and update, and forget it after delete."""
    for domain in ("x.example", "y.example"):
        make_domain(directory, config, domain)
    values = {"password": NEW_PASSWORD, "domains": ["x.example"]}
    assert services.admins.create_admin(directory, BOSS, values, config)["domains"] == ["x.example"]
    updated = services.admins.update_admin(directory, BOSS, {"addDomain": ["y.example"]}, config)
    assert updated["domains"] == ["x.example", "y.example"]
    assert raw.attrs(raw.domain_dn("y.example"))["domainadmin"] == [BOSS]
    services.admins.delete_admin(directory, BOSS)
    assert all("domainadmin" not in raw.attrs(raw.domain_dn(d)) for d in ("x.example", "y.example"))
    assert domains.get_domain(directory, "x.example")["admins"] == []


# -- mlmmj lists -----------------------------------------------------------------------------


def test_list_create_and_delete_span_the_entry_and_the_spool(make_app, raw, mlmmj_spool):
    """Creating makes the directory and then the entry; deleting removes both (archive kept)."""
    spool, archive = mlmmj_spool
    app = make_app(MLMMJ_SPOOL_DIR=str(spool), MLMMJ_ARCHIVE_DIR=str(archive))
    with app.app_context():
        directory, mlmmj = get_directory(), get_mlmmj()
        make_domain(directory, dict(app.config), "ml.example")
        values = {"subscribers": ["alice@example.org"], "require_confirm": False}
        created = services.mls.create_list(directory, mlmmj, "team@ml.example", values, app.config)
        assert created["spool_exists"] is True
        assert [s["mail"] for s in created["subscribers"]] == ["alice@example.org"]
        dn = f"mail=team@ml.example,ou=Groups,{raw.domain_dn('ml.example')}"
        assert raw.attrs(dn)["enabledservice"] == ["deliver", "mail", "mlmmj"]
        assert (spool / "ml.example" / "team").is_dir()
        archived = services.mls.delete_list(directory, mlmmj, "team@ml.example", True)
    assert raw.entry(dn) is None
    assert not (spool / "ml.example" / "team").exists()
    assert [str(p) for p in (archive / "ml.example").iterdir()] == [archived]
