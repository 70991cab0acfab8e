"""GET /api/v1/audit (to be written)."""
ROUTES: list = []
