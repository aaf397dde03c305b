"""admins."""
