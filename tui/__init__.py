"""tfscope: a keyboard-driven terminal UI for triaging TensorFlow models in GCS and on local disk."""

__version__ = "0.1.0"
