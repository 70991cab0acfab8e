"""The head count: the store executives per store, imported from CSV or XLSX."""
