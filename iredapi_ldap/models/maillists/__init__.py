"""maillists."""
