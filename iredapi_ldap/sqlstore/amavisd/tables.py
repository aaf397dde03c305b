"""Amavisd's lookup tables (`@lookup_sql_dsn`), as iRedMail's samples/amavisd/amavisd.{mysql,pgsql}.

`users` (local accounts), `mailaddr` (remote addresses), `wblist` (inbound white/blacklists),
`outbound_wblist` (read by iRedAPD only) and `policy` (spam and virus settings). An
existing database made by iRedMail's installer is used as it is, and a missing table is
created with the same layout. Amavisd's logging and quarantine tables (`maddr`, `msgs`,
`msgrcpt`, `quarantine`) are Amavisd's own: the API neither reads nor creates them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql

from ..tables import TABLE_OPTIONS

metadata = sa.MetaData()

MYSQL = ("mysql", "mariadb")
# iRedMail's amavisd.mysql names utf8mb4_general_ci on every table.
AMAVISD_TABLE_OPTIONS = {
    **TABLE_OPTIONS,
    **{f"{dialect}_collate": "utf8mb4_general_ci" for dialect in MYSQL},
}
# The email columns hold at most 255 bytes (VARBINARY(255) on MySQL).
EMAIL_BYTES = 255


class Address(sa.types.TypeDecorator):
    """users.email and mailaddr.email: bytes on MySQL (VARBINARY) and PostgreSQL (BYTEA), str in Python.

    Amavisd and iRedAPD compare these columns byte for byte, so the API stores lower
    case. SQLite, which neither can read, keeps them as TEXT throughout: there a BLOB
    never equals a TEXT value, and lookups written with plain strings, as iRedAPD writes
    them, must find the rows.
    """

    impl = sa.LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        """VARBINARY(255), BYTEA, or VARCHAR(255) on SQLite."""
        if dialect.name in MYSQL:
            return dialect.type_descriptor(mysql.VARBINARY(EMAIL_BYTES))
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.BYTEA())
        return dialect.type_descriptor(sa.String(EMAIL_BYTES))

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        """Encode str as UTF-8, except on SQLite."""
        if isinstance(value, str) and dialect.name != "sqlite":
            return value.encode()
        return value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        """Decode what the server returns (bytes, or memoryview) as UTF-8."""
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value).decode()
        return value


def _mysql(generic: sa.types.TypeEngine, on_mysql: sa.types.TypeEngine) -> sa.types.TypeEngine:
    return generic.with_variant(on_mysql, *MYSQL)


# INT UNSIGNED AUTO_INCREMENT on MySQL, SERIAL on PostgreSQL.
SERIAL = _mysql(sa.Integer(), mysql.INTEGER(unsigned=True))
# INTEGER UNSIGNED on MySQL; INTEGER with CHECK (>= 0) on PostgreSQL.
UNSIGNED = _mysql(sa.Integer(), mysql.INTEGER(unsigned=True))


def _id() -> sa.Column:
    return sa.Column("id", SERIAL, primary_key=True, autoincrement=True)


def _priority() -> sa.Column:
    # Scale B of iRedAPD's MAILADDR_PRIORITIES: only the order matters to Amavisd.
    return sa.Column("priority", sa.Integer(), nullable=False, server_default=sa.text("7"))


def _email() -> sa.Column:
    return sa.Column("email", Address(), nullable=False, unique=True)


def _nullable(names: tuple[str, ...], kind: sa.types.TypeEngine) -> list[sa.Column]:
    # iRedMail writes DEFAULT NULL, which PostgreSQL records as a default of its own.
    return [sa.Column(name, kind, nullable=True, server_default=sa.text("NULL")) for name in names]


def _not_negative(column: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} >= 0").ddl_if(dialect="postgresql")


users = sa.Table(
    "users",
    metadata,
    _id(),
    _priority(),
    # 0 links no policy (a row that only carries white/blacklists); the column default 1
    # is the installer's global policy, which would shadow the domain's.
    sa.Column("policy_id", UNSIGNED, nullable=False, server_default=sa.text("1")),
    _email(),
    *_nullable(("fullname",), sa.String(255)),
    _not_negative("policy_id"),
    **AMAVISD_TABLE_OPTIONS,
)

mailaddr = sa.Table(
    "mailaddr",
    metadata,
    _id(),
    _priority(),
    _email(),
    **AMAVISD_TABLE_OPTIONS,
)


def _pairs(name: str) -> sa.Table:
    """wblist (rid = users.id, sid = mailaddr.id) and outbound_wblist (the other way round)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("rid", UNSIGNED, primary_key=True, autoincrement=False),
        sa.Column("sid", UNSIGNED, primary_key=True, autoincrement=False),
        # W or B (Amavisd also reads Y/N, a space, or a score); no foreign keys.
        sa.Column("wb", sa.String(10), nullable=False),
        _not_negative("rid"),
        _not_negative("sid"),
        **AMAVISD_TABLE_OPTIONS,
    )


wblist = _pairs("wblist")
outbound_wblist = _pairs("outbound_wblist")

FLAGS = (
    "virus_lover", "spam_lover", "unchecked_lover", "banned_files_lover", "bad_header_lover",
    "bypass_virus_checks", "bypass_spam_checks", "bypass_banned_checks", "bypass_header_checks",
)  # fmt: skip
QUARANTINES = (
    "virus_quarantine_to", "spam_quarantine_to", "banned_quarantine_to",
    "unchecked_quarantine_to", "bad_header_quarantine_to", "clean_quarantine_to",
    "archive_quarantine_to",
)  # fmt: skip
LEVELS = (
    "spam_tag_level", "spam_tag2_level", "spam_tag3_level", "spam_kill_level",
    "spam_dsn_cutoff_level", "spam_quarantine_cutoff_level",
)  # fmt: skip
EXTENSIONS = (
    "addr_extension_virus", "addr_extension_spam", "addr_extension_banned",
    "addr_extension_bad_header",
)  # fmt: skip
WARNINGS = ("warnvirusrecip", "warnbannedrecip", "warnbadhrecip")
TEXTS = (
    "newvirus_admin", "virus_admin", "banned_admin", "bad_header_admin", "spam_admin",
    "spam_subject_tag", "spam_subject_tag2", "spam_subject_tag3",
)  # fmt: skip
TRAILING = ("disclaimer_options", "forward_method", "sa_userconf", "sa_username")
# FLOAT (single precision) on MySQL, REAL on PostgreSQL and SQLite.
LEVEL = _mysql(sa.REAL(), mysql.FLOAT())


# Every column NULL by default: NULL inherits the next row's value (user, domain, global,
# then amavisd.conf). iRedMail makes policy_name NOT NULL DEFAULT '' on MySQL (a plain
# VARCHAR(255) on PostgreSQL) and unique on both; it holds the account (`@.`, `@domain`).
policy = sa.Table(
    "policy",
    metadata,
    _id(),
    sa.Column("policy_name", sa.String(255), nullable=False, server_default=""),
    *_nullable(FLAGS, sa.CHAR(1)),
    *_nullable(QUARANTINES, sa.String(64)),
    *_nullable(LEVELS, LEVEL),
    *_nullable(EXTENSIONS, sa.String(64)),
    *_nullable(WARNINGS, sa.CHAR(1)),
    *_nullable(TEXTS, sa.String(64)),
    *_nullable(("message_size_limit",), sa.Integer()),
    *_nullable(("banned_rulenames",), sa.String(64)),
    *_nullable(TRAILING, sa.String(64)),
    sa.Index("policy_idx_policy_name", "policy_name", unique=True),
    **AMAVISD_TABLE_OPTIONS,
)

sa.event.listen(
    policy,
    "after_create",
    sa.DDL(
        "ALTER TABLE policy ALTER COLUMN policy_name DROP NOT NULL,"
        " ALTER COLUMN policy_name DROP DEFAULT"
    ).execute_if(dialect="postgresql"),
)

# Every column of a policy row but its id and name: what Amavisd reads per recipient.
SETTINGS = tuple(
    column.name for column in policy.columns if column.name not in ("id", "policy_name")
)
