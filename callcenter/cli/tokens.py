"""``token create | list | revoke``: API bearer tokens."""
from __future__ import annotations

import sys

from callcenter.cli.common import (CliError, actor, change_by_name, in_transaction, print_table,
                                   settings_of, when)


def cmd_token_create(args) -> int:
    from callcenter.auth.tokens import create_token
    from callcenter.users.service import get_user_by_name

    settings = settings_of(args)
    if args.user and args.role:
        raise CliError("--role does not go with --user: a user's token has the user's role")

    async def _create(session):
        user_id = None
        if args.user:
            user = await get_user_by_name(session, args.user)
            if user is None or not user.active:
                raise CliError(f"no active user named {args.user!r}")
            user_id = user.id
        return await create_token(session, args.name, args.role, user_id, actor=actor())

    print(in_transaction(settings, _create))
    print("This token is shown only now; send it as 'Authorization: Bearer <token>'.",
          file=sys.stderr)
    return 0


async def _tokens_with_owners(session) -> list:
    """(token, owner's user name or None) pairs, by token name."""
    from sqlalchemy import select

    from callcenter.models import ApiToken, User

    result = await session.execute(
        select(ApiToken, User.name).outerjoin(User, ApiToken.user_id == User.id)
        .order_by(ApiToken.name))
    return list(result.all())


def cmd_token_list(args) -> int:
    tokens = in_transaction(settings_of(args), _tokens_with_owners)
    print_table(["NAME", "ROLE", "USER", "STATE", "CREATED", "LAST USED"],
                [[t.name, t.role, uname or "(service)", "revoked" if t.revoked else "active",
                  when(t.created_at), when(t.last_used_at)] for t, uname in tokens])
    return 0


def cmd_token_revoke(args) -> int:
    from callcenter.auth.tokens import revoke_token

    changed = change_by_name(args, revoke_token)
    print(f"token {args.name} revoked" if changed else f"token {args.name} was already revoked")
    return 0
