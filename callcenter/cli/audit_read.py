"""``audit list`` and ``audit export``: the audit trail from the command line,
with the API's filters (--actor, --action, --object, --id, --customer, --from, --to;
--before and --limit to page the list). The CLI reads as an admin. An export
(CSV, to a file or stdout) is itself audited as a bulk view, with the actor
``cli:<unix user>``."""
from __future__ import annotations

import asyncio
import sys

from callcenter.cli.common import actor, database, print_table, settings_of, when

EXPORT_VIEW = "cli:audit export"   # the "path" of a CLI export in its audit row


def _filter(args, settings, *, max_limit: int):
    from callcenter.audit_trail.query import parse_filter

    given = {"actor": args.actor, "action": args.action, "object": args.object, "object_id": args.id,
             "customer": args.customer,
             "from": getattr(args, "from"), "to": args.to, "before": args.before,
             "limit": getattr(args, "limit", None)}
    return parse_filter({k: str(v) for k, v in given.items() if v is not None}, settings.web.timezone,
                        max_limit=max_limit)


def _shown(settings):
    import functools

    from callcenter.customers.privacy import mobile_for
    return functools.partial(mobile_for, settings, "admin")


def cmd_audit_list(args) -> int:
    from callcenter.audit_trail import query
    from callcenter.audit_trail.summary import row_view
    from callcenter.db import sessionmaker
    from callcenter.org.scope import Scope

    settings = settings_of(args)
    f = _filter(args, settings, max_limit=query.MAX_LIMIT)

    async def _list():
        async with database(settings) as engine, sessionmaker(engine)() as session:
            found = await query.page(session, Scope(role="admin"), f)
            users = await query.user_ids(session, {r.actor for r in found.rows})
            return [row_view(r, users, _shown(settings)) for r in found.rows], found.next_before

    rows, next_before = asyncio.run(_list())
    print_table(["ID", "WHEN", "WHO", "ACTION", "OBJECT", "CHANGE", "REQUEST"],
                [[r["id"], when(r["at"]), r["actor"], r["action"], f"{r['object']} {r['object_id']}",
                  r["summary"] or "-", r["request_id"] or "-"] for r in rows])
    if next_before:
        print(f"older rows: add --before {next_before}")
    return 0


def cmd_audit_export(args) -> int:
    from callcenter.audit_trail import export
    from callcenter.db import sessionmaker
    from callcenter.org.scope import Scope
    from callcenter.reports.csv_export import encode

    settings = settings_of(args)
    scope = Scope(role="admin")

    async def _export(out) -> int:
        async with database(settings) as engine:
            sessions = sessionmaker(engine)
            f, count = await export.snapshot(sessions, scope, _filter(args, settings, max_limit=export.MAX_ROWS))
            await export.record_export(sessions, actor(), EXPORT_VIEW, f, count)
            out.write(encode([export.HEADER]))
            async for text in export.csv_chunks(sessions, scope, f, _shown(settings)):
                out.write(text)
            return count

    if args.output and args.output != "-":
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            count = asyncio.run(_export(out))
        print(f"{count} rows written to {args.output}")
    else:
        asyncio.run(_export(sys.stdout))
    return 0


def _filters(p) -> None:
    p.add_argument("--actor", help="who: a user's name, cli:<unix user>, token:<name>, system")
    p.add_argument("--action", help="an action (user.update), or a prefix ending in '.' (customer.)")
    p.add_argument("--object", metavar="TYPE", help="the object's type: customer, user, work_item, call, ...")
    p.add_argument("--id", metavar="ID", help="the object's id")
    p.add_argument("--customer", metavar="ID", type=int,
                   help="a customer's rows and their work items', appointments', complaints', calls'")
    p.add_argument("--from", metavar="WHEN", help="YYYY-MM-DD (the site's time zone) or an ISO time")
    p.add_argument("--to", metavar="WHEN", help="YYYY-MM-DD (that day included) or an ISO time")
    p.add_argument("--before", metavar="ID", type=int, help="only rows older than this id")


def add_read_commands(command, audit) -> None:
    """``audit list`` and ``audit export`` (``command``: main.build_parser's helper)."""
    p = command(audit, "list", cmd_audit_list, "show audit rows, newest first")
    _filters(p)
    p.add_argument("--limit", type=int, default=50, help="rows to show (1 to 500, default 50)")
    p = command(audit, "export", cmd_audit_export, "write the audit rows as CSV (itself audited)")
    _filters(p)
    p.add_argument("--output", "-o", metavar="FILE", help="the CSV file (default: stdout)")
