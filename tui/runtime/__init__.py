"""The only package that imports TensorFlow, and only inside functions."""
