"""SQL tables, mirroring iRedAdmin's `iredadmin` database so its tools can read our rows."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# Every module that keeps state in SQL registers its tables here; the store
# creates whatever is missing on first use.
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

# Tables keyed by a mail address that follow an account when it is renamed
# or removed. deleted_mailboxes is history and keeps the old address.
ACCOUNT_TABLES = (used_quota, last_login)
