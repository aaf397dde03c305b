"""Mail policy in the iRedAPD and Amavisd SQL databases (docs/policy.md)."""
