"""``mentorbot``: run the bot, talk to it in a terminal, check a config, back up the database.

Logs go to stderr, one line each: ``2027-01-04T09:00:00Z INFO chatbot.engine: text``
(time in UTC, level, logger, message), so an operator can grep by level or module.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import re
import signal
import sys
import time
from typing import Any
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError

from chatbot import __version__
from chatbot.cli_certificates import add_parsers as add_certificate_parsers
from chatbot.config import ConfigError, Settings, load, masked
from chatbot.wording import plural

if TYPE_CHECKING:
    from sqlalchemy import Engine as DbEngine

    from chatbot.app import App

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: environment variables whose values never appear in a log line
SECRET_ENV = re.compile(r"(TOKEN|PASSWORD|SECRET|PICKLE_KEY|API_KEY)", re.I)


class MaskSecrets(logging.Filter):
    """Replaces the value of every secret-looking environment variable in log records."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets = [v for k, v in os.environ.items() if SECRET_ENV.search(k) and len(v) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(s in message for s in self.secrets):
                for s in self.secrets:
                    message = message.replace(s, "***")
                record.msg, record.args = message, None
        return True


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter(LOG_FORMAT, "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(MaskSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "alembic", "discord", "nio", "irc"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def unreachable(exc: DBAPIError) -> str:
    """What the driver said when the database refused us, on one line."""
    return f"the database cannot be reached ({type(exc.orig).__name__}: {' '.join(str(exc.orig).split())[:300]})"


def _settings(args: argparse.Namespace) -> Settings:
    path = args.config or os.environ.get("MENTORBOT_CONFIG")
    settings = load(path)
    if getattr(args, "db", None):
        from storage.db import sqlite_url

        url = args.db if "://" in args.db else sqlite_url(args.db)  # a URL, or a SQLite file
        db = settings.database.model_copy(update={"url": url})
        settings = settings.model_copy(update={"database": db})
    return settings


# ---------------------------------------------------------------------------- commands


async def _run(settings: Settings, only: list[str] | None = None) -> int:
    from chatbot.app import App

    app = App(settings, only=only)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    log = logging.getLogger("chatbot")
    # "running with X" is said by the supervisor when X connects (now or later); this line
    # says which adapters are up already and which are still trying, never claiming more
    states = app.supervisor.states() if app.supervisor is not None else {}
    if not states:
        log.info("mentorbot %s running with no adapter enabled", __version__)
    else:
        def state(name: str, h: Any) -> str:
            return f"{name} ({h.phase}{': ' + h.reason if h.reason else ''})"

        waiting = [state(n, h) for n, h in states.items() if not h.up and h.phase != "stopped"]
        given_up = [state(n, h) for n, h in states.items() if h.phase == "stopped"]
        log.info("mentorbot %s started; connected: %s%s%s", __version__,
                 ", ".join(name for name, h in states.items() if h.up) or "none yet",
                 f"; still trying: {', '.join(waiting)}" if waiting else "",
                 f"; not running: {', '.join(given_up)}" if given_up else "")
    console = next((a for a in app.adapters or [] if a.platform == "console"), None)
    if console is not None:
        from adapters.console import repl

        repl_task = asyncio.create_task(repl(console))  # type: ignore[arg-type]
        await asyncio.wait([repl_task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    else:
        await stop.wait()
    log.info("shutting down")
    await app.stop()
    return 0


async def _console_dashboard(app: "App", listen: str) -> str:
    """The console's dashboard on ``listen``, or on any free port of that host if it is taken."""
    web = app.settings.dashboard
    try:
        app.settings = app.settings.model_copy(update={"dashboard": web.model_copy(update={"listen": listen})})
        return await app.start_dashboard()
    except OSError:
        host = listen.rpartition(":")[0]
        app.settings = app.settings.model_copy(update={"dashboard": web.model_copy(update={"listen": f"{host}:0"})})
        return await app.start_dashboard()


async def _console(settings: Settings, script: Path | None, user: str, dashboard: str | None = None) -> int:
    from adapters.console import ConsoleAdapter, ScriptError, ScriptPlayer, read_script, repl

    from chatbot.app import App
    from chatbot.clock import FakeClock

    adapter = ConsoleAdapter(prefix=settings.bot.prefix)
    if script is not None:
        lines = read_script(script)
        now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        clock = FakeClock(now)
        # A seeded source makes link codes, and so the transcript's output, reproducible.
        app = App(settings, clock=clock, adapters=[adapter], rng=random.Random(script.name))
        await app.start(schedule=False)

        async def simulate(platform: str) -> ConsoleAdapter:
            other = ConsoleAdapter(platform=platform, prefix=settings.bot.prefix)
            app.engine.attach(other)
            await other.start(app.engine.handle, app.engine.specs)
            return other

        try:
            await ScriptPlayer(adapter, clock, app.engine.run_due, simulate, settle=app.engine.flush_outbox).play(lines)
        except ScriptError as exc:
            print(f"{script}: {exc}", file=sys.stderr)
            return 2
        finally:
            await app.stop()
        return 0
    app = App(settings, adapters=[adapter], dashboard_ephemeral_secret=True)
    await app.start()
    if app.dashboard is None and dashboard:
        url = await _console_dashboard(app, dashboard)
        # on stderr, beside the log: standard output is the conversation
        print(f"The web dashboard is at {url} (type !dashboard for a sign-in link).", file=sys.stderr, flush=True)
    try:
        await repl(adapter, user, settle=app.engine.senders.settle)
    finally:
        await app.stop()
    return 0


def _check_config(path: str | None) -> int:
    settings = load(path)
    from chatbot.app import adapter_factory

    problems = []
    for name in settings.enabled_adapters():
        try:
            factory = adapter_factory(name)
        except LookupError as exc:
            problems.append(str(exc))
            continue
        model = getattr(factory, "settings_model", None)
        if model is not None:
            try:
                model.model_validate(settings.adapter_settings(name))
            except Exception as exc:
                problems.append(f"adapters.{name}: {exc}")
    print(json.dumps(masked(settings.model_dump(mode="json")), indent=2))
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        return 1
    print(f"{path or '(embedded default)'}: OK", file=sys.stderr)
    return 0


def _health(settings: Settings, only: list[str] | None = None) -> int:
    """Each enabled adapter's state as the running bot recorded it; 1 when one has been down
    longer than ``[health] max_down`` (or the bot stopped recording), or when the database
    cannot be reached, else 0. ``only``: the adapters of one process (``run --adapters``)."""
    from sqlmodel import Session

    from chatbot.supervisor import HEALTH_NAMESPACE, AdapterHealth, assess
    from storage.db import open_database, sqlite_path
    from storage.repos import KeyValueRepo

    db = settings.database
    path = sqlite_path(db.url)
    if path is not None and not path.exists():
        print(f"mentorbot: no database at {path}; has the bot run?", file=sys.stderr)
        return 1
    names = [name for name in settings.enabled_adapters() if only is None or name in only]
    engine = open_database(db.url, synchronous=db.synchronous, busy_timeout_ms=db.busy_timeout_ms, migrate=False)
    try:
        with Session(engine) as s:
            repo = KeyValueRepo(s)
            records = {name: AdapterHealth.from_json(repo.get(HEALTH_NAMESPACE, name)) for name in names}
    except DBAPIError as exc:
        print(f"unhealthy: {unreachable(exc)}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    now, limit = time.time(), settings.health.max_down_seconds
    verdicts = [assess(name, record, now, limit) for name, record in records.items()]
    for verdict in verdicts:
        print(verdict.line)
    if not verdicts:
        print("no adapter is enabled")
    down = [v.platform for v in verdicts if not v.ok]
    if down:
        print(f"unhealthy: {', '.join(down)} down for longer than {settings.health.max_down}", file=sys.stderr)
        return 1
    return 0


def _migrate(settings: Settings) -> int:
    """Bring the database to the newest schema (start-up does it too unless
    ``[database] migrate_on_start = false``, for operators who migrate before rolling out)."""
    from storage.db import open_database, revisions

    db = settings.database
    engine = open_database(db.url, synchronous=db.synchronous, busy_timeout_ms=db.busy_timeout_ms)
    try:
        print(f"the database is at the newest schema ({', '.join(revisions(engine))})")
    finally:
        engine.dispose()
    return 0


def _migrate_data(source: str, target: str) -> int:
    """Copy a programme from one database to another, e.g. a SQLite file to PostgreSQL."""
    from storage.db import database_url, open_database, sqlite_path
    from storage.transfer import TransferError, copy_database

    source = database_url(source)
    path = sqlite_path(source)
    if path is not None and not path.exists():
        raise FileNotFoundError(f"no database at {path}")
    src, dst = open_database(source), open_database(database_url(target))
    try:
        copied = copy_database(src, dst)
    except TransferError as exc:
        print(f"mentorbot: {exc}", file=sys.stderr)
        return 1
    finally:
        src.dispose()
        dst.dispose()
    for item in copied:
        print(f"{item.table}: {item.rows}")
    total = sum(item.rows for item in copied)
    print(f"copied {plural(total, 'row')} in {plural(len(copied), 'table')}; every count matches", file=sys.stderr)
    return 0


def _backup(settings: Settings, dest: Path) -> int:
    from storage.db import backup

    out = backup(settings.database.url, dest)
    print(f"backed up to {out}")
    return 0


def _existing_database(settings: Settings) -> "DbEngine":
    """The configured database, refused when it is a SQLite file that does not exist (an export
    must not create an empty one)."""
    from storage.db import open_database, sqlite_path

    path = sqlite_path(settings.database.url)
    if path is not None and not path.exists():
        raise FileNotFoundError(f"no database at {path}")
    db = settings.database
    return open_database(db.url, synchronous=db.synchronous, busy_timeout_ms=db.busy_timeout_ms)


def _certificates(args: argparse.Namespace, settings: Settings) -> int:
    from chatbot import cli_certificates

    engine = _existing_database(settings)
    try:
        return cli_certificates.run(args, settings, engine)
    finally:
        engine.dispose()


def _export_office_hours(settings: Settings, dest: str) -> int:
    """The office-hour help log as CSV, for coordinators ("-" writes to stdout)."""
    from chatbot.features.office_hours.report import export_help_log

    engine = _existing_database(settings)
    try:
        if dest == "-":
            rows = export_help_log(engine, sys.stdout)
        else:
            with open(dest, "w", encoding="utf-8", newline="") as out:
                rows = export_help_log(engine, out)
    finally:
        engine.dispose()
    print(f"wrote {rows} rows to {dest}", file=sys.stderr)
    return 0


def _export_mydata(settings: Settings, handle: str, dest: str) -> int:
    """One person's records as the JSON file ``!mydata export`` sends where a platform takes
    files; an admin runs this for people on IRC or the console ("-" writes to stdout)."""
    from sqlmodel import Session

    from chatbot.clock import SystemClock
    from chatbot.features.privacy import data_file
    from storage.repos import Repos

    engine = _existing_database(settings)
    try:
        with Session(engine) as db:
            repos = Repos(db)
            member = repos.members.by_handle(handle.lstrip("@"))
            if member is None or member.id is None:
                raise ValueError(f"nobody has the handle {handle!r}")
            file = data_file(member, repos.privacy.export(member.id), SystemClock().now())
    finally:
        engine.dispose()
    if dest == "-":
        sys.stdout.write(file.data.decode())
    else:
        Path(dest).write_bytes(file.data)
    print(f"wrote {member.handle}'s records ({len(file.data)} bytes) to {dest}", file=sys.stderr)
    return 0


def _export_round(settings: Settings, name: list[str], fmt: str, out: Path) -> int:
    """A round's records, one file per table (see the README's "Round exports")."""
    from sqlmodel import Session

    from chatbot.clock import SystemClock
    from chatbot.features.round_export import round_tables, write_tables
    from storage.repos import Repos

    engine = _existing_database(settings)
    try:
        with Session(engine) as db:
            repos = Repos(db)
            wanted = " ".join(" ".join(name).split())
            today = SystemClock().now().date()
            rnd = repos.rounds.by_name(wanted) if wanted else repos.rounds.running(today) or repos.rounds.latest_started(today)
            if rnd is None:
                raise ValueError(f"there is no round called {wanted!r}" if wanted else "there has been no round yet")
            written = write_tables(round_tables(repos, rnd, today), fmt, out)
    finally:
        engine.dispose()
    print(f"wrote {len(written)} files for round {rnd.name} to {out}", file=sys.stderr)
    return 0


DB_HELP = "a SQLite file or a database URL (default: the config's [database] url)"


def adapter_list(text: str) -> list[str]:
    """``irc`` or ``discord,matrix``: adapter names, comma-separated."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names or any(not re.fullmatch(r"[a-z][a-z0-9_-]*", name) for name in names):
        raise argparse.ArgumentTypeError(f"{text!r}: give adapter names separated by commas, like discord,matrix")
    return names


def _add_export_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> tuple[argparse.ArgumentParser, ...]:
    """``mentorbot export office-hours | mydata | round``; returns the three parsers."""
    e = sub.add_parser("export", help="write records out for coordinators")
    what = e.add_subparsers(dest="what", required=True)
    o = what.add_parser("office-hours", help="the office-hour help log: one row per person in line")
    o.add_argument("--csv", required=True, metavar="FILE", help="the CSV file to write (- for stdout)")
    o.add_argument("--db", help=DB_HELP)
    y = what.add_parser("mydata", help="one person's records as a JSON file (what !mydata export sends where files can be sent)")
    y.add_argument("handle", help="the person's handle")
    y.add_argument("--json", required=True, metavar="FILE", help="the JSON file to write (- for stdout)")
    y.add_argument("--db", help=DB_HELP)
    x = what.add_parser("round", help="a round's records, one file per table (pairs, sessions, check-ins, goals, "
                                      "assessments, office hours)")
    x.add_argument("round", nargs="*", metavar="ROUND", help="the round's name (default: the running round, else the latest)")
    x.add_argument("--format", choices=("csv", "json"), default="csv", help="csv (default) or json")
    x.add_argument("--out", required=True, type=Path, metavar="DIR", help="the directory to write the files in")
    x.add_argument("--db", help=DB_HELP)
    return o, y, x


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mentorbot", description="A mentorship chat bot for Discord, IRC and Matrix.")
    p.add_argument("--version", action="version", version=f"mentorbot {__version__}")
    p.add_argument("--config", help="config file (TOML); default: $MENTORBOT_CONFIG, else the embedded default")
    p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="overrides logging.level")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run every adapter the config enables")
    r.add_argument("--adapters", type=adapter_list, metavar="NAMES",
                   help="only these enabled adapters, e.g. irc or discord,matrix (other processes run the rest)")
    c = sub.add_parser("console", help="chat with the bot in this terminal")
    c.add_argument("--script", type=Path, help="play a transcript non-interactively and print the bot's output")
    c.add_argument("--db", help=DB_HELP)
    c.add_argument("--user", default="you", help="who you are (default: you)")
    c.add_argument("--dashboard", default="127.0.0.1:8470", metavar="HOST:PORT",
                   help="serve the web dashboard here (default 127.0.0.1:8470; another free port if taken)")
    c.add_argument("--no-dashboard", action="store_true", help="do not serve the web dashboard")
    k = sub.add_parser("check-config", help="validate a config and print it with secrets masked")
    k.add_argument("file", nargs="?", help="the config file (default: --config or the embedded default)")
    sub.add_parser("commands", help="print every command as a Markdown table (COMMANDS.md)")
    h = sub.add_parser("health", help="each adapter's state as the running bot recorded it; "
                                      "exits 1 when one has been down longer than [health] max_down")
    h.add_argument("--db", help=DB_HELP)
    h.add_argument("--adapters", type=adapter_list, metavar="NAMES", help="only these adapters (one process's)")
    m = sub.add_parser("migrate", help="bring the database to the newest schema (start-up does it too, by default)")
    m.add_argument("--db", help=DB_HELP)
    d = sub.add_parser("migrate-data", help="copy every record into a new, empty database (SQLite to PostgreSQL)")
    d.add_argument("--from", dest="source", required=True, metavar="URL", help="the database to read, e.g. sqlite:///mentorbot.db")
    d.add_argument("--to", dest="target", required=True, metavar="URL",
                   help="the empty database to fill, e.g. postgresql://mentorbot@db/mentorbot")
    b = sub.add_parser("backup", help="write a consistent copy of the database")
    b.add_argument("path", type=Path)
    b.add_argument("--db", help=DB_HELP)
    o, y, x = _add_export_parsers(sub)
    certificates = add_certificate_parsers(sub, DB_HELP)
    # `mentorbot run --config FILE` as well as `mentorbot --config FILE run`: the option after the
    # command overrides, and its absence there leaves the one before it alone (SUPPRESS)
    for command in {*sub.choices.values(), o, y, x, *certificates}:
        command.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        command.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], default=argparse.SUPPRESS,
                             help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "commands":
            from chatbot.commands import reference
            from chatbot.features import all_features

            print(reference((s for f in all_features() for s in f.commands)), end="")
            return 0
        if args.command == "check-config":
            setup_logging(args.log_level or "WARNING")
            return _check_config(args.file or args.config or os.environ.get("MENTORBOT_CONFIG"))
        settings = _settings(args)
        quiet = args.command in ("console", "health")
        setup_logging(args.log_level or ("WARNING" if quiet else settings.logging.level))
        if args.command == "run":
            return asyncio.run(_run(settings, args.adapters))
        if args.command == "console":
            return asyncio.run(_console(settings, args.script, args.user, None if args.no_dashboard else args.dashboard))
        if args.command == "migrate":
            return _migrate(settings)
        if args.command == "migrate-data":
            return _migrate_data(args.source, args.target)
        if args.command == "backup":
            return _backup(settings, args.path)
        if args.command == "health":
            return _health(settings, args.adapters)
        if args.command == "export" and args.what == "mydata":
            return _export_mydata(settings, args.handle, args.json)
        if args.command in ("verify", "certificate"):
            return _certificates(args, settings)
        if args.command == "export" and args.what == "round":
            return _export_round(settings, args.round, args.format, args.out)
        if args.command == "export":
            return _export_office_hours(settings, args.csv)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"mentorbot: {exc}", file=sys.stderr)
        return 2
    except DBAPIError as exc:  # a database server that refuses us: say so, no traceback
        print(f"mentorbot: {unreachable(exc)}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
