"""iRedAPD's `iredapd` database: the same tables, types and keys as its SQL/iredapd.{mysql,pgsql}.

The API writes throttle and greylisting rows that a running iRedAPD reads, so an existing
database made by iRedMail's installer is used as it is, and a missing one is created with
the same layout. Types follow MySQL/MariaDB (what an iRedMail OpenLDAP host runs) and
PostgreSQL column by column; SQLite, which no iRedAPD can read, gets the MySQL keys.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from ..tables import TABLE_OPTIONS

metadata = sa.MetaData()

MYSQL = ("mysql", "mariadb")
# iRedMail creates `iredapd` as utf8mb4 / utf8mb4_unicode_ci: case-insensitive comparisons.
IREDAPD_TABLE_OPTIONS = {
    **TABLE_OPTIONS,
    **{f"{dialect}_collate": "utf8mb4_unicode_ci" for dialect in MYSQL},
}


def _mysql(generic: sa.types.TypeEngine, on_mysql: sa.types.TypeEngine) -> sa.types.TypeEngine:
    return generic.with_variant(on_mysql, *MYSQL)


# BIGINT(20) UNSIGNED AUTO_INCREMENT on MySQL, SERIAL (a 32-bit integer) on PostgreSQL.
SERIAL = _mysql(sa.Integer(), mysql.BIGINT(unsigned=True))
# Epoch seconds and periods: INT(10) UNSIGNED on MySQL, BIGINT on PostgreSQL.
UNSIGNED = _mysql(sa.BigInteger(), mysql.INTEGER(unsigned=True)).with_variant(
    sa.Integer(), "sqlite"
)
LIMIT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# greylisting* account/sender: VARCHAR(100) on MySQL, VARCHAR(255) on PostgreSQL.
SHORT_ADDRESS = _mysql(sa.String(255), mysql.VARCHAR(100))
SMALL = _mysql(sa.SmallInteger(), mysql.TINYINT(2))
FLAG = _mysql(sa.SmallInteger(), mysql.TINYINT(1))


def _zero() -> sa.TextClause:
    return sa.text("0")


def _text(name: str, length: int = 255) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=False, server_default="")


def _id() -> sa.Column:
    return sa.Column("id", SERIAL, primary_key=True, autoincrement=True)


# MySQL has UNIQUE (account, kind) and UNIQUE (tid, account); PostgreSQL only plain indexes,
# so duplicates are possible there (docs/policy.md says how the API upserts anyway).
throttle = sa.Table(
    "throttle",
    metadata,
    _id(),
    sa.Column("account", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False, server_default="outbound"),
    sa.Column(
        "priority",
        _mysql(sa.BigInteger(), mysql.TINYINT(1, unsigned=True)).with_variant(
            sa.Integer(), "sqlite"
        ),
        nullable=False,
        server_default=_zero(),
    ),
    sa.Column("period", UNSIGNED, nullable=False, server_default=_zero()),
    *(
        sa.Column(name, LIMIT, nullable=False, server_default=sa.text("-1"))
        for name in ("msg_size", "max_msgs", "max_quota", "max_rcpts")
    ),
    sa.Index("account_kind", "account", "kind", unique=True).ddl_if(dialect=(*MYSQL, "sqlite")),
    sa.Index("idx_account", "account").ddl_if(dialect="postgresql"),
    **IREDAPD_TABLE_OPTIONS,
)

throttle_tracking = sa.Table(
    "throttle_tracking",
    metadata,
    _id(),
    # No ON DELETE CASCADE in either schema: tracking rows go before their rule.
    sa.Column(
        "tid",
        _mysql(sa.BigInteger(), mysql.BIGINT(unsigned=True)).with_variant(sa.Integer(), "sqlite"),
        sa.ForeignKey("throttle.id"),
        nullable=False,
        server_default=_zero(),
    ),
    _text("account"),
    sa.Column("period", UNSIGNED, nullable=False, server_default=_zero()),
    sa.Column(
        "cur_msgs",
        _mysql(sa.BigInteger(), mysql.MEDIUMINT(unsigned=True)).with_variant(
            sa.Integer(), "sqlite"
        ),
        nullable=False,
        server_default=_zero(),
    ),
    sa.Column("cur_quota", UNSIGNED, nullable=False, server_default=_zero()),
    *(
        sa.Column(name, UNSIGNED, nullable=False, server_default=_zero())
        for name in ("init_time", "last_time", "last_notify_time")
    ),
    sa.Index("tid_account", "tid", "account", unique=True).ddl_if(dialect=(*MYSQL, "sqlite")),
    sa.Index("idx_tid_account", "tid", "account").ddl_if(dialect="postgresql"),
    **IREDAPD_TABLE_OPTIONS,
)


# PostgreSQL's tid is a plain nullable REFERENCES column; MySQL's is NOT NULL DEFAULT 0.
sa.event.listen(
    throttle_tracking,
    "after_create",
    sa.DDL(
        "ALTER TABLE throttle_tracking ALTER COLUMN tid DROP NOT NULL,"
        " ALTER COLUMN tid DROP DEFAULT"
    ).execute_if(dialect="postgresql"),
)


def _account_sender_table(name: str) -> sa.Table:
    """greylisting_whitelists and greylisting_whitelist_domain_spf share one layout."""
    return sa.Table(
        name,
        metadata,
        _id(),
        sa.Column("account", SHORT_ADDRESS, nullable=False, server_default=""),
        sa.Column("sender", SHORT_ADDRESS, nullable=False, server_default=""),
        _text("comment"),
        sa.Index(f"idx_{name}_account_sender", "account", "sender", unique=True),
        sa.Index(f"idx_{name}_comment", "comment"),
        **IREDAPD_TABLE_OPTIONS,
    )


greylisting = sa.Table(
    "greylisting",
    metadata,
    _id(),
    sa.Column("account", SHORT_ADDRESS, nullable=False, server_default=""),
    sa.Column("priority", SMALL, nullable=False, server_default=_zero()),
    sa.Column("sender", SHORT_ADDRESS, nullable=False, server_default=""),
    sa.Column("sender_priority", SMALL, nullable=False, server_default=_zero()),
    _text("comment"),
    sa.Column("active", FLAG, nullable=False, server_default=sa.text("1")),
    sa.Index("idx_greylisting_account_sender", "account", "sender", unique=True),
    sa.Index("idx_greylisting_comment", "comment"),
    **IREDAPD_TABLE_OPTIONS,
)

greylisting_whitelists = _account_sender_table("greylisting_whitelists")

# Read by iRedAPD's hourly tools/spf_to_greylist_whitelists.py, never at mail time.
greylisting_whitelist_domains = sa.Table(
    "greylisting_whitelist_domains",
    metadata,
    _id(),
    _text("domain"),
    sa.Index("idx_greylisting_whitelist_domains_domain", "domain", unique=True),
    **IREDAPD_TABLE_OPTIONS,
)

# Written by that cron job: account '@.', comment 'AUTO-UPDATE: <domain>'.
greylisting_whitelist_domain_spf = _account_sender_table("greylisting_whitelist_domain_spf")

# Triplets; only iRedAPD writes them, the API deletes those of removed accounts.
greylisting_tracking = sa.Table(
    "greylisting_tracking",
    metadata,
    _id(),
    sa.Column("sender", sa.String(255), nullable=False),
    sa.Column("recipient", sa.String(255), nullable=False),
    sa.Column("client_address", sa.String(40), nullable=False),
    _text("sender_domain"),
    _text("rcpt_domain"),
    *(
        sa.Column(name, UNSIGNED, nullable=False, server_default=_zero())
        for name in ("init_time", "block_expired", "record_expired")
    ),
    sa.Column("blocked_count", LIMIT, nullable=False, server_default=_zero()),
    sa.Column("passed", FLAG, nullable=False, server_default=_zero()),
    sa.Index("idx_greylisting_tracking_key", "sender", "recipient", "client_address", unique=True),
    sa.Index("idx_greylisting_tracking_sender_domain", "sender_domain"),
    sa.Index("idx_greylisting_tracking_rcpt_domain", "rcpt_domain"),
    sa.Index("idx_greylisting_tracking_client_address_passed", "client_address", "passed"),
    **IREDAPD_TABLE_OPTIONS,
)

# The tables below are iRedAPD's own (part 2 of the policy work reads wblist_rdns); they
# are created with the others so that a database the API made can serve iRedAPD.
wblist_rdns = sa.Table(
    "wblist_rdns",
    metadata,
    _id(),
    _text("rdns"),
    sa.Column("wb", sa.String(10), nullable=False, server_default="B"),
    sa.Index("idx_wblist_rdns_rdns", "rdns", unique=True),
    sa.Index("idx_wblist_rdns_wb", "wb"),
    **IREDAPD_TABLE_OPTIONS,
)

srs_exclude_domains = sa.Table(
    "srs_exclude_domains",
    metadata,
    _id(),
    _text("domain"),
    sa.Index("idx_srs_exclude_domains_domain", "domain", unique=True),
    **IREDAPD_TABLE_OPTIONS,
)

senderscore_cache = sa.Table(
    "senderscore_cache",
    metadata,
    sa.Column("client_address", sa.String(40), primary_key=True, server_default=""),
    sa.Column(
        "score",
        _mysql(sa.Integer(), mysql.INTEGER(3, unsigned=True)),
        nullable=True,
        server_default=_zero(),
    ),
    sa.Column("time", UNSIGNED, nullable=False, server_default=_zero()),
    sa.Index("idx_senderscore_cache_score", "score"),
    sa.Index("idx_senderscore_cache_time", "time"),
    **IREDAPD_TABLE_OPTIONS,
)

SESSION_TEXT = (
    ("action", 20), ("reason", 255), ("instance", 40), ("client_address", 40),
    ("client_name", 255), ("reverse_client_name", 255), ("helo_name", 255), ("sender", 255),
    ("sender_domain", 255), ("sasl_username", 255), ("sasl_domain", 255), ("recipient", 255),
    ("recipient_domain", 255), ("encryption_protocol", 20), ("encryption_cipher", 50),
    ("server_address", 40), ("server_port", 10),
)  # fmt: skip

smtp_sessions = sa.Table(
    "smtp_sessions",
    metadata,
    _id(),
    sa.Column("time", sa.TIMESTAMP(), nullable=False, server_default=sa.func.current_timestamp()),
    sa.Column("time_num", UNSIGNED, nullable=False, server_default=_zero()),
    *(
        # MySQL's `reason` is VARCHAR(150).
        sa.Column(
            name,
            _mysql(sa.String(length), mysql.VARCHAR(150))
            if name == "reason"
            else sa.String(length),
            nullable=False,
            server_default="",
        )
        for name, length in SESSION_TEXT
    ),
    *(
        sa.Index(f"idx_smtp_sessions_{name}", name)
        for name in ("time", "time_num", *(name for name, _length in SESSION_TEXT))
    ),
    **IREDAPD_TABLE_OPTIONS,
)

# What the API reads and writes; an existing database must have these. The others are
# created only in a database that has none of iRedAPD's tables yet.
POLICY_TABLES = (
    throttle,
    throttle_tracking,
    greylisting,
    greylisting_whitelists,
    greylisting_whitelist_domains,
    greylisting_whitelist_domain_spf,
    greylisting_tracking,
)
