"""Reusable widgets, each with the messages it posts."""
