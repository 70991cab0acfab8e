"""``location add | list``, ``store add | list | import``, ``team add | list``:
the organisation, from the command line (as an admin: every change audited
with the actor ``cli:<unix user>``)."""
from __future__ import annotations

from pathlib import Path

from callcenter.cli.common import CliError, actor, in_transaction, print_table, settings_of
from callcenter.org.scope import Scope

ADMIN = Scope(role="admin")


def cmd_location_add(args) -> int:
    from callcenter.org.service import create_location

    location = in_transaction(settings_of(args), lambda s: create_location(
        s, ADMIN, args.name, args.title or args.name, actor=actor()))
    print(f"location {location.code} created: {location.name}")
    return 0


def cmd_location_list(args) -> int:
    from callcenter.org.service import list_locations

    rows = in_transaction(settings_of(args), lambda s: list_locations(s, ADMIN))
    print_table(["CODE", "NAME"], [[r.code, r.name] for r in rows])
    return 0


def cmd_store_add(args) -> int:
    from callcenter.org.service import create_store

    data = {"code": args.name, "name": args.title, "city": args.city or "",
            "region": args.region or "", "language": args.language, "location": args.location}
    store = in_transaction(settings_of(args), lambda s: create_store(s, ADMIN, data, actor=actor()))
    print(f"store {store.code} created: {store.name}, language {store.language}")
    return 0


async def _stores(session, location: str | None):
    from sqlalchemy import select

    from callcenter.org.models import Location
    from callcenter.org.service import list_stores, resolve_location

    location_id = (await resolve_location(session, location)).id if location else None
    stores, _total = await list_stores(session, ADMIN, location_id=location_id, limit=100_000)
    codes = dict((await session.execute(select(Location.id, Location.code))).all())
    return stores, codes


def cmd_store_list(args) -> int:
    stores, codes = in_transaction(settings_of(args), lambda s: _stores(s, args.location))
    print_table(["CODE", "NAME", "CITY", "REGION", "LANGUAGE", "LOCATION", "ACTIVE"],
                [[r.code, r.name, r.city or "-", r.region or "-", r.language,
                  codes.get(r.location_id, "-"), "yes" if r.active else "no"] for r in stores])
    return 0


def cmd_store_import(args) -> int:
    """Check every row of the file, then create/update all the stores, or none."""
    from callcenter.org.exceptions import ImportRejected
    from callcenter.org.store_import import import_stores, read_store_file

    settings = settings_of(args)
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    rows = read_store_file(path, max_bytes=settings.work.upload_max_mb * 1_000_000)
    try:
        result = in_transaction(settings, lambda s: import_stores(
            s, ADMIN, rows, actor=actor(), dry_run=args.dry_run))
    except ImportRejected as exc:
        for error in exc.details.get("errors", []):
            print(f"row {error['row']}: {error['message']}")
        raise
    verb = "would import" if args.dry_run else "imported"
    print(f"{verb} {result.total} stores: {result.created} created, {result.updated} updated, "
          f"{result.unchanged} unchanged")
    return 0


def cmd_team_add(args) -> int:
    from callcenter.org.service import create_team

    team = in_transaction(settings_of(args), lambda s: create_team(
        s, ADMIN, args.name, args.location, actor=actor()))
    print(f"team {team.name} created")
    return 0


async def _teams(session, location: str | None):
    from sqlalchemy import select

    from callcenter.org.models import Location
    from callcenter.org.service import list_teams, resolve_location, team_sizes

    location_id = (await resolve_location(session, location)).id if location else None
    teams = await list_teams(session, ADMIN, location_id=location_id)
    codes = dict((await session.execute(select(Location.id, Location.code))).all())
    return teams, codes, await team_sizes(session, [t.id for t in teams])


def cmd_team_list(args) -> int:
    teams, codes, sizes = in_transaction(settings_of(args), lambda s: _teams(s, args.location))
    print_table(["NAME", "LOCATION", "ACTIVE MEMBERS"],
                [[t.name, codes.get(t.location_id, "-"), sizes.get(t.id, 0)] for t in teams])
    return 0


def add_commands(command, group) -> None:
    """Add the subcommands to the parser (``command``/``group``: main.build_parser's helpers)."""
    locations = group("location", "locations (call centres, regions)")
    p = command(locations, "add", cmd_location_add, "create a location", named=True)
    p.add_argument("--title", metavar="TEXT", help="its name as shown (default: the code)")
    command(locations, "list", cmd_location_list, "list locations")

    stores = group("store", "stores")
    p = command(stores, "add", cmd_store_add, "create a store (NAME is its code)", named=True)
    p.add_argument("--title", required=True, metavar="TEXT", help="the store's name")
    p.add_argument("--location", required=True, metavar="CODE", help="its location")
    p.add_argument("--city", metavar="TEXT")
    p.add_argument("--region", metavar="TEXT", help="e.g. north, south")
    p.add_argument("--language", default="en", metavar="CODE",
                   help="ISO 639-1 code of its customers' language (default en)")
    p = command(stores, "list", cmd_store_list, "list stores")
    p.add_argument("--location", metavar="CODE", help="only this location's")
    p = command(stores, "import", cmd_store_import,
                "create or update stores from a CSV/XLSX file, all or nothing")
    p.add_argument("file", metavar="FILE",
                   help="columns: code, name, city, region, language, location")
    p.add_argument("--dry-run", action="store_true", help="check the file, change nothing")

    teams = group("team", "teams")
    p = command(teams, "add", cmd_team_add, "create a team", named=True)
    p.add_argument("--location", required=True, metavar="CODE", help="its location")
    p = command(teams, "list", cmd_team_list, "list teams")
    p.add_argument("--location", metavar="CODE", help="only this location's")
