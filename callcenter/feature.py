"""What a feature package declares: the one small ``feature.py`` module of
each feature (``FEATURE = Feature(...)``) says everything it adds to the
server, and the composition root walks the list in :mod:`callcenter.features`.

- ``routes``: ``(method, path, handler, roles, summary)`` rows; every route
  declares the roles that may use it.
- ``tables``: the module of its tables (imported, they are in the metadata
  Alembic and the tests see).
- ``settings``: its ``[section]`` of the config file, a dataclass of defaults,
  and an optional check of a loaded value (raises ``ValueError``).
- ``start``: an async function run at start-up. Its **parameter names say
  what it depends on**: each is filled with the client of that name (see
  :class:`Clients`) and nothing else, so a feature is never handed the whole
  container. It may subscribe to AMI events (``pbx_events.on_event``), start
  loops (``loops.every``/``loops.start``), publish on the live bus (``live``),
  and return an object other features and its handlers reach under the
  feature's name (closed at shutdown when it has ``close()``).
- ``topics``: the ``type`` of each live message it publishes to pages.
- ``templates``: its folder of page templates (``<feature>/templates``, the
  names inside it prefixed by the feature's folder: ``work/buckets.html``).
"""
from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

Route = tuple  # (method, path, handler, roles, summary)


@dataclass(frozen=True)
class Section:
    """A feature's ``[name]`` section of the config file."""
    name: str
    defaults: type                                     # a dataclass; its fields are the keys
    check: Callable[[Any, Any], None] | None = None    # check(section, settings): ValueError on a bad value


@dataclass(frozen=True)
class Feature:
    name: str
    routes: Sequence[Route] = ()
    tables: ModuleType | None = None
    settings: Section | None = None
    start: Callable[..., Awaitable[Any]] | None = None
    topics: Sequence[str] = ()
    templates: Path | None = None
    summary: str = ""


class MissingClient(LookupError):
    """A feature's start function names a client nobody provides."""


@dataclass
class Clients:
    """The clients the composition root opened, by name. Features read the
    ones their ``start`` names; what a feature's start returns is added
    under the feature's name."""
    by_name: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, client: Any) -> None:
        if name in self.by_name:
            raise ValueError(f"two clients named {name!r}")
        self.by_name[name] = client

    def arguments_for(self, fn: Callable, feature: str) -> dict[str, Any]:
        """The keyword arguments of ``fn``: one client per parameter name."""
        arguments = {}
        for name, parameter in inspect.signature(fn).parameters.items():
            if name in self.by_name:
                arguments[name] = self.by_name[name]
            elif parameter.default is inspect.Parameter.empty:
                raise MissingClient(f"feature {feature!r} needs {name!r}, which no client provides "
                                    f"(known: {', '.join(sorted(self.by_name))})")
        return arguments

    async def start(self, feature: Feature) -> dict[str, Any]:
        """Run the feature's start; what it returns becomes a client under the
        feature's name (or, for a dict, under each of its keys)."""
        if feature.start is None:
            return {}
        result = await feature.start(**self.arguments_for(feature.start, feature.name))
        provided = result if isinstance(result, dict) else {} if result is None else {feature.name: result}
        for name, client in provided.items():
            self.add(name, client)
        return provided
