"""Assign, check and grade the course's notebooks: isolated, fast, tamper-proof."""
