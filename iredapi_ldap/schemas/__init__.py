"""Marshmallow schemas: request bodies, query arguments and response payloads."""
