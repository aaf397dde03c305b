"""aliases."""
