"""Webhooks: business events signed and POSTed to the client's own systems."""
