"""Thin command-line shell: parse input, call the library, render."""
