-- The lookup part of iRedMail 1.8.1's `amavisd` schema for PostgreSQL
-- (samples/amavisd/amavisd.pgsql), typed here as test data, then the installer's default
-- policy. Amavisd's logging and quarantine tables are left out: the API never touches them.

CREATE TABLE users (
    id SERIAL PRIMARY KEY,
    priority INTEGER NOT NULL DEFAULT '7',
    policy_id INTEGER NOT NULL DEFAULT '1' CHECK (policy_id >= 0),
    email BYTEA NOT NULL UNIQUE,
    fullname VARCHAR(255) DEFAULT NULL
);

CREATE TABLE mailaddr (
    id SERIAL PRIMARY KEY,
    priority INTEGER NOT NULL DEFAULT '7',
    email BYTEA NOT NULL UNIQUE
);

CREATE TABLE wblist (
    rid INTEGER NOT NULL CHECK (rid >= 0),
    sid INTEGER NOT NULL CHECK (sid >= 0),
    wb VARCHAR(10) NOT NULL,
    PRIMARY KEY (rid, sid)
);

CREATE TABLE outbound_wblist (
    rid INTEGER NOT NULL CHECK (rid >= 0),
    sid INTEGER NOT NULL CHECK (sid >= 0),
    wb VARCHAR(10) NOT NULL,
    PRIMARY KEY (rid, sid)
);

CREATE TABLE policy (
    id SERIAL PRIMARY KEY,
    policy_name VARCHAR(32),
    virus_lover CHAR(1) DEFAULT NULL,
    spam_lover CHAR(1) DEFAULT NULL,
    unchecked_lover CHAR(1) DEFAULT NULL,
    banned_files_lover CHAR(1) DEFAULT NULL,
    bad_header_lover CHAR(1) DEFAULT NULL,
    bypass_virus_checks CHAR(1) DEFAULT NULL,
    bypass_spam_checks CHAR(1) DEFAULT NULL,
    bypass_banned_checks CHAR(1) DEFAULT NULL,
    bypass_header_checks CHAR(1) DEFAULT NULL,
    virus_quarantine_to VARCHAR(64) DEFAULT NULL,
    spam_quarantine_to VARCHAR(64) DEFAULT NULL,
    banned_quarantine_to VARCHAR(64) DEFAULT NULL,
    unchecked_quarantine_to VARCHAR(64) DEFAULT NULL,
    bad_header_quarantine_to VARCHAR(64) DEFAULT NULL,
    clean_quarantine_to VARCHAR(64) DEFAULT NULL,
    archive_quarantine_to VARCHAR(64) DEFAULT NULL,
    spam_tag_level REAL DEFAULT NULL,
    spam_tag2_level REAL DEFAULT NULL,
    spam_tag3_level REAL DEFAULT NULL,
    spam_kill_level REAL DEFAULT NULL,
    spam_dsn_cutoff_level REAL DEFAULT NULL,
    spam_quarantine_cutoff_level REAL DEFAULT NULL,
    addr_extension_virus VARCHAR(64) DEFAULT NULL,
    addr_extension_spam VARCHAR(64) DEFAULT NULL,
    addr_extension_banned VARCHAR(64) DEFAULT NULL,
    addr_extension_bad_header VARCHAR(64) DEFAULT NULL,
    warnvirusrecip CHAR(1) DEFAULT NULL,
    warnbannedrecip CHAR(1) DEFAULT NULL,
    warnbadhrecip CHAR(1) DEFAULT NULL,
    newvirus_admin VARCHAR(64) DEFAULT NULL,
    virus_admin VARCHAR(64) DEFAULT NULL,
    banned_admin VARCHAR(64) DEFAULT NULL,
    bad_header_admin VARCHAR(64) DEFAULT NULL,
    spam_admin VARCHAR(64) DEFAULT NULL,
    spam_subject_tag VARCHAR(64) DEFAULT NULL,
    spam_subject_tag2 VARCHAR(64) DEFAULT NULL,
    spam_subject_tag3 VARCHAR(64) DEFAULT NULL,
    message_size_limit INTEGER DEFAULT NULL,
    banned_rulenames VARCHAR(64) DEFAULT NULL,
    disclaimer_options VARCHAR(64) DEFAULT NULL,
    forward_method VARCHAR(64) DEFAULT NULL,
    sa_userconf VARCHAR(64) DEFAULT NULL,
    sa_username VARCHAR(64) DEFAULT NULL
);

ALTER TABLE policy ALTER COLUMN policy_name TYPE VARCHAR(255);
CREATE UNIQUE INDEX policy_idx_policy_name ON policy (policy_name);

-- What the installer adds next (default_spam_policy.sql): the global policy, and the
-- global `users` row linked to it.
INSERT INTO policy (policy_name, spam_lover, virus_lover, banned_files_lover,
    bad_header_lover, bypass_spam_checks, bypass_virus_checks, bypass_banned_checks,
    bypass_header_checks, spam_quarantine_to, virus_quarantine_to, banned_quarantine_to,
    bad_header_quarantine_to)
VALUES ('@.', 'Y', 'N', 'N', 'Y', 'N', 'N', 'N', 'N', '', 'virus-quarantine',
    'banned-quarantine', '');
INSERT INTO users (priority, email) VALUES (0, '@.');
UPDATE users SET policy_id = (SELECT id FROM policy WHERE policy_name = '@.');
