"""Tests for the SQL store."""
