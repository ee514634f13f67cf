"""Tandem's built-in plugins; each subpackage is one module of the suite."""
