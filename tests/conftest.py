"""Shared fixtures. tests/stack.py (added as a plugin) runs the real PBX stack."""
