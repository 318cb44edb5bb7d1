"""Saved runs on disk."""
