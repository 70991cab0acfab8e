"""The subcommands of the ``callcenter`` command, one module a domain.

``admin`` (init, serve, db), ``users``, ``tokens`` and ``trunks`` hold the
``cmd_*`` functions the parser in :mod:`callcenter.main` dispatches to;
``common`` holds what they share: the config, the database session, the actor
name, the table layout and :class:`CliError`.
"""
