"""/admin/audit (to be written)."""
ROUTES: list = []
