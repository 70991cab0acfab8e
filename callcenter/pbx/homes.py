"""Where trunks and agents' phones live: the PBX node of each
(callcenter/pbx/nodes.py), set by the CLI (``trunk add --node``, ``trunk
home``, ``user home``) and the admin's trunks page.

Moving a trunk or a phone to another node is refused while one of its calls
is not ended (the call is up on the old node; its row and channels are that
node's to finish). After a move, each server renders the trunk or phone into
its new node's Asterisk within its config sync (2 s) and the old node drops
it. Every change is audited."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.config import NODE_NAME
from callcenter.errors import DomainError
from callcenter.models import Call, Trunk, User


class InvalidNode(DomainError):
    error_id, status = "invalid_node", 422


class HomeNotFound(DomainError):
    error_id, status = "not_found", 404


class HomeInUse(DomainError):
    error_id, status = "in_use", 409


def check_node(node) -> str:
    if not isinstance(node, str) or not NODE_NAME.fullmatch(node):
        raise InvalidNode(f"invalid PBX node {node!r}: 1-40 of a-z 0-9 _ -, as in [pbx] node and peers")
    return node


async def home_trunk(session: AsyncSession, name: str, node: str, *, actor: str) -> Trunk:
    """Home the trunk ``name`` on ``node`` (its calls go out there from now on)."""
    check_node(node)
    trunk = (await session.scalars(select(Trunk).where(Trunk.name == name, Trunk.removed_at.is_(None)))).first()
    if trunk is None:
        raise HomeNotFound(f"no trunk named {name!r}")
    if trunk.pbx_node == node:
        return trunk
    live = await session.scalar(select(func.count()).select_from(Call).where(
        Call.trunk_id == trunk.id, Call.ended_at.is_(None)))
    if live:
        raise HomeInUse(f"trunk {name!r} has {live} call(s) not ended on node {trunk.pbx_node}; move it when "
                        "they are over")
    audit.record(session, actor, "trunk.home", "trunk", trunk.id, name=name, before=trunk.pbx_node, after=node)
    trunk.pbx_node = node
    await session.flush()
    return trunk


async def home_phone(session: AsyncSession, name: str, node: str, *, actor: str) -> User:
    """Home the user ``name``'s phone on ``node`` (rendered and rung there from now on)."""
    check_node(node)
    user = (await session.scalars(select(User).where(User.name == name))).first()
    if user is None:
        raise HomeNotFound(f"no user named {name!r}")
    if user.pbx_node == node:
        return user
    live = await session.scalar(select(func.count()).select_from(Call).where(
        Call.agent_id == user.id, Call.ended_at.is_(None)))  # as home_trunk: a row not finished is a call
    if live:
        raise HomeInUse(f"{name} has a call not ended on node {user.pbx_node}; move the phone when it is over")
    audit.record(session, actor, "user.home", "user", user.id, name=name, before=user.pbx_node, after=node)
    user.pbx_node = node
    await session.flush()
    return user
