"""Uploaded spreadsheets (CSV, XLSX): kept under server-made names, read safely,
their cells made values, and the Upload record of each; below every feature
that takes a file (the store list, customers, DND numbers, the head count)."""
