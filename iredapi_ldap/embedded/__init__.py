"""The embedded default: a private slapd for `iredapi-ldap serve` and the tests."""
