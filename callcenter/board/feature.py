"""The supervisor's live board: agents by state, calls in progress, queues
and trunks, in the viewer's scope, pushed over the page's socket."""
from pathlib import Path

from callcenter.board import http, pages
from callcenter.board.settings import BoardSettings, check
from callcenter.feature import Feature, Section

FEATURE = Feature(
    name="board",
    routes=[*http.ROUTES, *pages.ROUTES],
    settings=Section("board", BoardSettings, check),
    templates=Path(__file__).parent / "templates",
    summary="The supervisor's live board: agents, calls, queues, trunks",
)
