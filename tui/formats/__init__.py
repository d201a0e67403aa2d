"""Readers that turn an artifact's bytes into plain dataclasses (no Textual, no TensorFlow)."""
