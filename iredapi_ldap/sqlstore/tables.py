"""Every SQL table: iRedAdmin's `iredadmin` tables (so its tools read our rows) and the API's own."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# Every table is defined in this module and nowhere else; the store creates the missing
# ones (TABLES, in that order) once, on its first use.
metadata = sa.MetaData()

# BIGINT UNSIGNED AUTO_INCREMENT on MySQL (as iRedAdmin), BIGSERIAL on
# PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
ID = (
    sa.BigInteger()
    .with_variant(mysql.BIGINT(unsigned=True), "mysql", "mariadb")
    .with_variant(sa.Integer(), "sqlite")
)

# The API's own points in time (naive UTC). MySQL's TIMESTAMP would drop the microseconds,
# stop in 2038 and convert by session time zone; DATETIME(6) keeps what PostgreSQL's
# TIMESTAMP and SQLite keep. iRedAdmin's tables keep its TIMESTAMP.
UTC_TIME = sa.TIMESTAMP().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def utc_now() -> datetime:
    """Return the current UTC time without tzinfo, as the TIMESTAMP columns hold it."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso_utc(value: datetime, timespec: str = "auto") -> str:
    """Return a TIMESTAMP column's naive UTC value as ISO 8601 with a Z suffix."""
    return value.replace(tzinfo=UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


# Keyword arguments of every table: on MySQL/MariaDB, InnoDB and utf8mb4 whatever the
# database's default (iRedMail creates `iredadmin` as utf8, which has no 4-byte
# characters such as emoji: a row with one would be refused). Other databases ignore them.
# (A mariadb:// URL reads only the mariadb_ spelling.)
TABLE_OPTIONS = {
    f"{dialect}_{option}": value
    for dialect in ("mysql", "mariadb")
    for option, value in (("engine", "InnoDB"), ("charset", "utf8mb4"))
}


# iRedAdmin SQL/iredadmin.mysql and .pgsql: read by tools/delete_mailboxes.py,
# which removes `maildir` once `delete_date` has passed (NULL: keep forever).
deleted_mailboxes = sa.Table(
    "deleted_mailboxes",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column(
        "timestamp", sa.TIMESTAMP(), nullable=False, server_default=sa.func.current_timestamp()
    ),
    sa.Column("username", sa.String(255), nullable=False, server_default=""),
    sa.Column("domain", sa.String(255), nullable=False, server_default=""),
    sa.Column("maildir", sa.String(255), nullable=False, server_default=""),
    sa.Column("admin", sa.String(255), nullable=False, server_default=""),
    sa.Column("delete_date", sa.Date(), nullable=True),
    sa.Index("idx_deleted_mailboxes_timestamp", "timestamp"),
    sa.Index("idx_deleted_mailboxes_username", "username"),
    sa.Index("idx_deleted_mailboxes_domain", "domain"),
    sa.Index("idx_deleted_mailboxes_admin", "admin"),
    sa.Index("idx_deleted_mailboxes_delete_date", "delete_date"),
    **TABLE_OPTIONS,
)

# iRedMail samples/dovecot/sql/used_quota.mysql: written by Dovecot's quota
# dict (iRedMail fills `domain` with a trigger).
used_quota = sa.Table(
    "used_quota",
    metadata,
    sa.Column("username", sa.String(255), primary_key=True),
    sa.Column("bytes", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    sa.Column("messages", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    sa.Column("domain", sa.String(255), nullable=False, server_default=""),
    sa.Index("idx_used_quota_domain", "domain"),
    **TABLE_OPTIONS,
)

# iRedMail samples/dovecot/sql/last_login.mysql: written by Dovecot's
# last_login plugin (seconds since the epoch per service).
last_login = sa.Table(
    "last_login",
    metadata,
    sa.Column("username", sa.String(255), primary_key=True, server_default=""),
    sa.Column("domain", sa.String(255), nullable=False, server_default=""),
    sa.Column("imap", sa.Integer(), nullable=True),
    sa.Column("pop3", sa.Integer(), nullable=True),
    sa.Column("lda", sa.Integer(), nullable=True),
    sa.Index("idx_last_login_domain", "domain"),
    sa.Index("idx_last_login_imap", "imap"),
    sa.Index("idx_last_login_pop3", "pop3"),
    sa.Index("idx_last_login_lda", "lda"),
    **TABLE_OPTIONS,
)

# iRedAdmin SQL/iredadmin.mysql and .pgsql: the admin log iRedAdmin shows under "Admin
# activities" (libs/panel/log.py reads it newest first). With [sql] iredadmin_log the audit
# path adds a row per write in iRedAdmin's own form (audit.py). `timestamp` is UTC in whole
# seconds, as iRedAdmin's libs/logger.py writes it; `ip` is VARCHAR(40) there.
iredadmin_log = sa.Table(
    "log",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column(
        "timestamp", sa.TIMESTAMP(), nullable=False, server_default=sa.func.current_timestamp()
    ),
    sa.Column("admin", sa.String(255), nullable=False),
    sa.Column("ip", sa.String(40), nullable=False),
    sa.Column("domain", sa.String(255), nullable=False, server_default=""),
    sa.Column("username", sa.String(255), nullable=False, server_default=""),
    sa.Column("event", sa.String(20), nullable=False, server_default=""),
    sa.Column("loglevel", sa.String(10), nullable=False, server_default="info"),
    sa.Column("msg", sa.Text(), nullable=True),
    sa.Index("idx_log_timestamp", "timestamp"),
    sa.Index("idx_log_admin", "admin"),
    sa.Index("idx_log_ip", "ip"),
    sa.Index("idx_log_domain", "domain"),
    sa.Index("idx_log_username", "username"),
    sa.Index("idx_log_event", "event"),
    sa.Index("idx_log_loglevel", "loglevel"),
    # INSERT ... RETURNING id would need SELECT too; the API only ever adds rows here.
    implicit_returning=False,
    **TABLE_OPTIONS,
)

# Tables keyed by a mail address that follow an account when it is renamed
# or removed. deleted_mailboxes is history and keeps the old address.
ACCOUNT_TABLES = (used_quota, last_login)


# -- the API's own tables ------------------------------------------------------------------

# The audit log of write requests (and of refused, malformed and failed ones): audit.py
# describes each request, sqlstore/audit.py writes and reads the rows.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("timestamp", UTC_TIME, nullable=False),
    sa.Column("admin", sa.String(255), nullable=False, server_default=""),
    sa.Column("token", sa.String(16), nullable=False, server_default=""),
    sa.Column("client_address", sa.String(64), nullable=False, server_default=""),
    sa.Column("method", sa.String(10), nullable=False, server_default=""),
    sa.Column("path", sa.String(1024), nullable=False, server_default=""),
    sa.Column("resource", sa.String(64), nullable=False, server_default=""),
    sa.Column("domain", sa.String(255), nullable=False, server_default=""),
    sa.Column("object", sa.String(320), nullable=False, server_default=""),
    sa.Column("action", sa.String(32), nullable=False, server_default=""),
    sa.Column("parameters", sa.Text(), nullable=False),
    sa.Column("status", sa.Integer(), nullable=False),
    sa.Column("result", sa.String(64), nullable=False, server_default=""),
    sa.Index("idx_audit_log_timestamp", "timestamp"),
    sa.Index("idx_audit_log_admin", "admin"),
    sa.Index("idx_audit_log_domain", "domain"),
    sa.Index("idx_audit_log_action", "action"),
    **TABLE_OPTIONS,
)

# Background jobs: long bulk work that outlives a request and a worker (jobs/).
jobs = sa.Table(
    "iredapi_jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("domain", sa.String(255), nullable=False, server_default=""),
    # JSON; never a secret (a new password lives only in the submitting process).
    sa.Column("params", sa.Text(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("progress", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("total", sa.Integer(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("result", sa.Text(), nullable=True),
    # host:pid of the process running it; heartbeat says it is still alive.
    sa.Column("owner", sa.String(255), nullable=True),
    sa.Column("heartbeat", UTC_TIME, nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
    sa.Column("created_by", sa.String(255), nullable=False, server_default=""),
    sa.Column("created", UTC_TIME, nullable=False),
    sa.Column("started", UTC_TIME, nullable=True),
    sa.Column("finished", UTC_TIME, nullable=True),
    sa.Index("idx_iredapi_jobs_state", "state"),
    sa.Index("idx_iredapi_jobs_created", "created"),
    **TABLE_OPTIONS,
)

# When and from where each API token was last used (security/token_usage.py): tokens live
# in LDAP, but a directory write per authenticated request would cost a disk sync each.
token_usage = sa.Table(
    "iredapi_token_usage",
    metadata,
    sa.Column("token_id", sa.String(16), primary_key=True),
    sa.Column("last_used", UTC_TIME, nullable=False),
    sa.Column("client_address", sa.String(64), nullable=False, server_default=""),
    **TABLE_OPTIONS,
)

# Every table, in the order the store creates them.
TABLES = (
    deleted_mailboxes,
    used_quota,
    last_login,
    iredadmin_log,
    audit_log,
    jobs,
    token_usage,
)
