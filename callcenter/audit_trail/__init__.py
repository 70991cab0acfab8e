"""Reading and guarding the audit trail (``callcenter.audit`` writes it):
the hash chain and its check, retention, the API, the admin page, the CLI."""
