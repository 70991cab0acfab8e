"""The supervisor\x27s live board."""
