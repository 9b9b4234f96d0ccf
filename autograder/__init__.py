"""Assign, check and grade the course's notebooks: isolated, fast, tamper-proof."""

__version__ = "0.1.0"
"""The distribution's version (pyproject.toml reads it from here)."""
