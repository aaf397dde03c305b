"""Mail policy kept in iRedAPD's SQL database: throttling and greylisting (docs/policy.md)."""
