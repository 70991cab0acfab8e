"""Backups: one tar.gz holding the database, the call recordings and the
uploads, with a manifest of what is in it (docs/backups.md).

``archive`` writes and checks the file, ``sqlite`` and ``postgres`` copy the
database out and back, ``serving`` is the lock that keeps a restore and a
serving server apart; the commands are in :mod:`callcenter.cli.backup`."""
