"""Shared fixtures: tests/stack.py runs the real PBX stack (Asterisk, Redis,
sipp); tests/harness.py runs the server in-process against it."""
pytest_plugins = ["tests.stack", "tests.harness"]
