"""Routes of this feature: (method, path, handler, roles, summary), collected by
web/feature_routes.py into the app's one routes table."""
ROUTES: list = []
