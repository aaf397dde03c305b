"""Benchmarks of iredapi-ldap against raw LDAP: `python -m bench [--quick]` (see docs/performance.md)."""
