"""The `docsvc` command. Each subcommand builds a Runtime and calls services;
user errors print one line, "docsvc: error: <message> (<code>)", and exit 2."""
from __future__ import annotations

import dataclasses
import functools
import getpass
import io
import json
import logging
import os
import subprocess
import sys
import time
from datetime import UTC
from enum import StrEnum
from pathlib import Path

import click
from sqlalchemy import select

from docsvc import accounts, audit, documents, incoming, migrate, outages, validation
from docsvc.config import ConfigError, load_settings
from docsvc.errors import DocsvcError, InvalidInput
from docsvc.models import (
    Agency,
    AgencyLevel,
    ApiToken,
    CredentialOwner,
    CredentialSource,
    Document,
    DocumentKind,
    DocumentStatus,
    EcopyKind,
    EcopyStatus,
    OutboxEntry,
    RegisterBook,
    Role,
    User,
)
from docsvc.presenters import document_json, search_json
from docsvc.runtime import Runtime
from signing import SigningError

EXIT_USER_ERROR = 2
PRIVATE_UMASK = 0o077


def vocabulary_choice(vocabulary: type[StrEnum], only: tuple[StrEnum, ...] = ()) -> click.Choice:
    """The values people type; click would take an enum's member names (CLERK) instead."""
    return click.Choice([member.value for member in (only or vocabulary)])


def fail(message: str, code: str = "error") -> None:
    click.echo(f"docsvc: error: {message} ({code})", err=True)
    sys.exit(EXIT_USER_ERROR)


def user_errors(command):
    """Turn the errors a user can cause into one line on stderr."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except DocsvcError as exc:
            fail(exc.message, exc.code)
        except SigningError as exc:
            fail(exc.message, exc.code)
        except ConfigError as exc:
            fail(str(exc), "config")
        except Exception as exc:
            dependency = outages.dependency_of(exc)
            if dependency is None:
                raise
            down = outages.DependencyDown(dependency)
            fail(down.message, down.code)

    return wrapper


def _runtime() -> Runtime:
    return Runtime(load_settings())


def cli_operator() -> User:
    """The person at the server's console acts with administrator rights; the
    audit log records them as cli:<login name>. Never stored as a user row."""
    return User(id=None, username=f"cli:{getpass.getuser()}", role=Role.ADMIN, agency_id=None)


@click.group()
def main() -> None:
    """docsvc: documents, signatures and e-copies for public administration."""
    # Everything docsvc writes (the database, objects, keys, the spool, the
    # broker's folder) is for this account alone: other local users must not
    # read citizens' files or the keys.
    os.umask(PRIVATE_UMASK)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Libraries that narrate routine events (font subsetting, validation steps
    # that our reports already explain) would bury our one-line errors.
    for noisy in ("fontTools", "pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


# --- database and first start -------------------------------------------------


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@user_errors
def db_upgrade() -> None:
    """Create or migrate the database schema, the bucket and the search index;
    on an empty installation also a default agency and an administrator."""
    prepare(_runtime())
    click.echo("database is up to date")


def prepare(rt: Runtime) -> None:
    migrate.upgrade(rt.engine)
    rt.ensure_backends()
    from docsvc.bootstrap import bootstrap

    password = bootstrap(rt)
    if password:
        click.echo(f"Created administrator 'admin' with password: {password}")
        click.echo(f"(also saved in {Path(rt.settings.data_dir) / 'admin-password.txt'})")


# --- running -------------------------------------------------------------------


@main.command()
@click.option("--host", default=None, help="Address to listen on (default from settings).")
@click.option("--port", default=None, type=int, help="Port to listen on (default from settings).")
@click.option("--no-worker", is_flag=True, help="Do not start a background worker with the web server.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Web processes (scaled profile only; the embedded one keeps its database and index in one).")
@user_errors
def serve(host: str | None, port: int | None, no_worker: bool, workers: int) -> None:
    """Run the web server (and, unless --no-worker, a worker beside it)."""
    from docsvc import logs

    logs.configure()
    settings = load_settings()
    if workers > 1 and settings.embedded:
        fail("--workers above 1 needs the scaled profile: the embedded one's SQLite and Tantivy index take "
             "their writes from one process.")
    host = host or settings.host
    port = port or settings.port
    # The address served is the one e-copies' QR codes and share links name
    # when public_url is not set, so the settings follow --host and --port.
    rt = Runtime(dataclasses.replace(settings, host=host, port=port))
    # In a process of its own: preparing opens the search index, and the
    # embedded engine (Tantivy) is not fork-safe, while gunicorn forks its
    # worker from this process (search.tantivy_index, "Forking").
    subprocess.run([sys.executable, "-m", "docsvc.cli", "db", "upgrade"], check=True, stdin=subprocess.DEVNULL)
    from docsvc import signatures
    from docsvc.server import run_web
    from docsvc.supervisor import WorkerSupervisor

    if rt.settings.embedded and signatures.dev_pki(rt.settings) is None:
        # Out of the box the embedded profile can sign at every PAdES level.
        signatures.create_dev_pki(rt.settings)
        click.echo(f"Created a development PKI in {rt.settings.pki_dir} (not for production signatures)")
    supervisor = None if no_worker else WorkerSupervisor()
    if supervisor:
        supervisor.start()
    click.echo(f"docsvc is running at http://{host}:{port}/  (Ctrl+C to stop)")
    serving_pid = os.getpid()
    try:
        with signatures.dev_services(rt.settings):
            run_web(rt, host, port, workers)
    finally:
        # gunicorn's forked web worker leaves through here too when it exits;
        # only the process that started the worker may stop it.
        if supervisor and os.getpid() == serving_pid:
            supervisor.stop()


@main.command()
@click.option("--beat", is_flag=True, help="Also run the periodic scheduler (outbox relay) in this process.")
@click.option("--concurrency", default=None, type=int)
@user_errors
def worker(beat: bool, concurrency: int | None) -> None:
    """Run a Celery worker for background work."""
    from docsvc.supervisor import write_stacks_on_signal
    from docsvc.tasks import celery_app, worker_runtime

    write_stacks_on_signal()  # a stop that hangs leaves where, when asked (docsvc.supervisor)
    rt = worker_runtime()
    argv = ["worker", "--loglevel", "INFO", "--concurrency", str(concurrency or rt.settings.worker_concurrency)]
    if beat:
        argv.append("--beat")
    celery_app.worker_main(argv)


@main.command()
@user_errors
def beat() -> None:
    """Run the periodic scheduler alone (scaled profile: one per deployment)."""
    from docsvc.tasks import celery_app

    celery_app.start(["beat", "--loglevel", "INFO"])


# --- documents -----------------------------------------------------------------


def _agency_id(rt: Runtime, code: str | None) -> int:
    with rt.read() as session:
        if code:
            return accounts.agency_by_code(session, code).id
        agencies = list(session.scalars(select(Agency).order_by(Agency.id).limit(2)))
    if len(agencies) != 1:
        raise InvalidInput("There is more than one agency (or none): choose one with --agency CODE.")
    return agencies[0].id


def _register_processed(rt: Runtime, operator: User, document_id: str, allow_duplicate: bool) -> None:
    with rt.read() as session:
        document = session.get(Document, document_id)
        status, message = document.status, document.status_message
    if status != DocumentStatus.READY:
        raise DocsvcError(f"Processing failed ({message}); the file is kept as document {document_id}, not registered.")
    incoming.register_document(rt, operator, document_id, {}, allow_duplicate=allow_duplicate)


def wait_for(rt: Runtime, entry_id: int, timeout: float) -> None:
    """Return once the work is done and its document searchable, doing the
    work here if no worker has taken it."""
    deadline = time.monotonic() + timeout
    _run_until_done(rt, entry_id, deadline, timeout)
    # Processed while the index was down: ready, but searchable only once
    # its index retry went through.
    with rt.read() as session:
        document_id = session.get(OutboxEntry, entry_id).payload.get("document_id")
        retries = [e.id for e in documents.pending_retries(session, document_id)] if document_id else []
    for retry_id in retries:
        _run_until_done(rt, retry_id, deadline, timeout)


def _run_until_done(rt: Runtime, entry_id: int, deadline: float, timeout: float) -> None:
    pause = 0.2
    while not documents.entry_done(rt, entry_id):
        try:
            documents.run_entry(rt, entry_id)
        except Exception:
            # Logged and released by run_entry; the loop tries again, less
            # often while it keeps failing (an index that is down).
            pause = min(pause * 2, 5.0)
        if documents.entry_done(rt, entry_id):
            return
        if time.monotonic() > deadline:
            raise DocsvcError(f"Timed out after {timeout:.0f} s waiting for the document to be processed and searchable.")
        time.sleep(pause)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--title", default=None, help="Title (default: from the file name).")
@click.option("--kind", default=DocumentKind.UPLOAD.value, type=vocabulary_choice(DocumentKind))
@click.option("--agency", "agency_code", default=None, help="Agency code (needed when there are several).")
@click.option("--wait", is_flag=True, help="Return once each document is processed and searchable.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds --wait may take per document.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per document.")
@click.option("--register", "book", default=None, type=vocabulary_choice(RegisterBook, (RegisterBook.INCOMING,)),
              help="Once processed, register it in this book with the suggested fields (implies --wait).")
@click.option("--allow-duplicate", is_flag=True, help="Register even if the same file is already registered.")
@user_errors
def ingest(files, title, kind, agency_code, wait, timeout, as_json, book, allow_duplicate) -> None:
    """Store PDFs or scans (JPEG, PNG, TIFF) as new documents; OCR runs in the background."""
    rt = _runtime()
    agency_id = _agency_id(rt, agency_code)
    operator = cli_operator()
    failures = 0
    for path in files:
        try:
            upload = documents.local_file(path, rt)
            if book and not allow_duplicate:
                # Asked before anything is stored, so a refused duplicate leaves nothing behind.
                incoming.refuse_registered_copy(rt, agency_id or operator.agency_id, upload.sha256)
            document_id, entry_id = documents.ingest(rt, operator, upload, title=title, kind=kind, agency_id=agency_id)
            if wait or book:
                wait_for(rt, entry_id, timeout)
            if book:
                _register_processed(rt, operator, document_id, allow_duplicate)
        except DocsvcError as exc:
            failures += 1
            click.echo(f"docsvc: error: {path}: {exc.message} ({exc.code})", err=True)
            continue
        with rt.read() as session:
            document = session.get(Document, document_id)
            if as_json:
                click.echo(json.dumps(document_json(document), ensure_ascii=False))
            else:
                click.echo(f"{document.id}\t{document.status}\t{document.title}")
    if failures:
        sys.exit(EXIT_USER_ERROR)


@main.command()
@click.option("--once", is_flag=True, help="One round over the folder, then exit.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print what happened to each file.")
@user_errors
def watch(once: bool, as_json: bool) -> None:
    """Ingest scans a network scanner drops into the watched folder (setting watch_dir)."""
    from docsvc import documents

    rt = _runtime()
    if not once:
        documents.watch(rt, rt.settings.watch_interval_seconds)
        return
    outcomes = documents.scan_once(rt)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(o) for o in outcomes], ensure_ascii=False))
    else:
        for outcome in outcomes:
            click.echo(f"{outcome.name}\t{outcome.state}\t{outcome.document_id or outcome.reason}")


@main.command()
@click.argument("document_id")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def show(document_id: str, as_json: bool) -> None:
    """Show a document: metadata, files and extracted text."""
    rt = _runtime()
    with rt.read() as session:
        document = documents.get_document(session, cli_operator(), document_id)
        text = documents.read_text(rt, document)
        data = document_json(document, text)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key in ("id", "title", "kind", "status", "number_symbol", "issuing_body", "page_count", "created_at"):
        click.echo(f"{key:>14}: {data[key] if data[key] is not None else ''}")
    for f in data["files"]:
        click.echo(f"{'file':>14}: {f['role']} {f['media_type']} {f['size']} bytes sha256={f['sha256']}")
    click.echo("")
    click.echo(text)


class SearchCommands(click.Group):
    """`docsvc search QUERY` runs a query (the subcommand `query`, implied);
    `docsvc search check` checks the index."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["query", *args]
        return super().parse_args(ctx, args)


@main.group("search", cls=SearchCommands)
def search_group() -> None:
    """Full-text search (docsvc search QUERY), and the index's health (docsvc search check)."""


@search_group.command("query")
@click.argument("query")
@click.option("--kind", default=None)
@click.option("--year", default=None)
@click.option("--from", "date_from", default=None, help="Documents dated on or after (YYYY-MM-DD).")
@click.option("--to", "date_to", default=None, help="Documents dated on or before (YYYY-MM-DD).")
@click.option("--issuing-body", default=None)
@click.option("--doc-type", default=None)
@click.option("--sort", default=None, help="relevance (default), newest or oldest.")
@click.option("--page", default=1, type=int)
@click.option("--per-page", default=20, type=int)
@click.option("--json", "as_json", is_flag=True)
@user_errors
def search_command(query, page, per_page, as_json, **narrowing) -> None:
    """Full-text search, with or without Vietnamese diacritics."""
    rt = _runtime()
    # The page's and the API's reading of filters, so all three check alike.
    filters = documents.search_filters({name: value for name, value in narrowing.items() if value is not None})
    result = documents.search(rt, cli_operator(), query, filters=filters, page=page, per_page=per_page)
    with rt.read() as session:
        data = search_json(result, documents.recalled_among(session, result))
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    more = "" if data["total_is_exact"] else "more than "
    click.echo(f"{more}{data['total']} result(s), {data['total_all_words']} with every word")
    for hit in data["hits"]:
        lacking = "" if hit["all_words"] else "  (lacks some words)"
        recalled = "  [Đã thu hồi / recalled]" if hit["recalled"] else ""
        click.echo(f"{hit['id']}  {hit['title']}{recalled}{lacking}")
        click.echo(f"    {hit['highlight'].replace('<mark>', '[').replace('</mark>', ']')}")


@search_group.command("check")
@click.option("--repair", is_flag=True, help="Write the missing and stale entries, delete the extra ones.")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def search_check(repair: bool, as_json: bool) -> None:
    """Compare the search index with the database: missing, stale and extra
    entries, and index writes waiting for a retry. Exit 0 if the index was
    true, 1 if not (after --repair: it was not, and has been repaired)."""
    from docsvc import documents

    rt = _runtime()
    try:
        report = documents.check_index(rt, repair=repair)
    finally:
        rt.close()
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        _print_check(report, repair)
    sys.exit(0 if report.ok else 1)


CHECK_LINES = {
    "missing": "ready documents with no entry (nobody finds them)",
    "stale": "entries older than their document",
    "extra": "entries of documents deleted or not ready",
    "pending": "index writes waiting for a retry by the worker",
}


def _print_check(report, repair: bool) -> None:
    if report.unreachable:
        click.echo(f"index: unreachable ({report.unreachable})")
    else:
        click.echo(f"database: {report.documents:,} ready document(s); index: {report.entries:,} entries")
    for name, meaning in CHECK_LINES.items():
        if report.unreachable and name != "pending":
            continue
        finding = getattr(report, name)
        more = " …" if finding.count > len(finding.ids) else ""
        ids = f": {' '.join(finding.ids)}{more}" if finding.ids else ""
        click.echo(f"{name}: {finding.count:,} {meaning}{ids}")
    if report.unreachable:
        click.echo("the index could not be checked: the writes above are retried until it answers")
    elif report.ok:
        click.echo("the index is true to the database")
    elif repair:
        click.echo(f"repaired: {report.written:,} entries written, {report.removed:,} removed")
    else:
        click.echo("the index is not true to the database: run docsvc search check --repair (or docsvc reindex)")


@main.command()
@user_errors
def reindex() -> None:
    """Rebuild the search index from the database, beside the live one (searches
    keep answering), then swap; an interrupted run resumes where it stopped."""
    rt = _runtime()
    try:
        done = documents.reindex(rt, on_progress=ReindexMeter())
    finally:
        rt.close()
    resumed = f" ({done.written} by this run, resuming an interrupted one)" if done.resumed_after else ""
    click.echo(f"indexed {done.done} document(s){resumed}")


@main.command()
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--objects", "objects_mode", type=click.Choice(["copy", "manifest"]), default="copy", show_default=True,
              help="copy the stored objects, or list them with their hashes (storage replicated on its own side)")
@click.option("--json", "as_json", is_flag=True, help="Print what the backup holds as JSON.")
@user_errors
def backup(dest: Path, objects_mode: str, as_json: bool) -> None:
    """Back up the installation into the new folder DEST: the database (one
    snapshot), the stored objects, the audit checkpoints, the keys the
    records need, the trust store and the settings; not the search index."""
    from docsvc import upkeep

    rt = _runtime()
    try:
        summary = upkeep.backup(rt, dest, copy_objects=objects_mode == "copy", progress=_progress_line)
    finally:
        rt.close()
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False))


@main.command()
@click.argument("src", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--no-reindex", is_flag=True, help="Leave the search index empty (the worker fills it when it starts).")
@click.option("--json", "as_json", is_flag=True, help="Print what was restored as JSON.")
@user_errors
def restore(src: Path, no_reindex: bool, as_json: bool) -> None:
    """Restore the backup SRC into this installation, which must be empty
    (a new database and storage, never started); then rebuild the index."""
    from docsvc import upkeep

    rt = _runtime()
    try:
        summary = upkeep.restore(rt, src, reindex=not no_reindex, progress=_progress_line)
    finally:
        rt.close()
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False))


def _progress_line(line: str) -> None:
    click.echo(line, err=True)


class ReindexMeter:
    """Progress on stderr, at most once every PERIOD seconds: counts and rate."""

    PERIOD = 2.0

    def __init__(self) -> None:
        self.shown_at = 0.0
        self.first = True

    def __call__(self, progress: documents.ReindexProgress) -> None:
        if self.first and progress.resumed_after:
            done_before = progress.done - progress.written
            click.echo(f"reindex: resuming an interrupted run after {done_before:,} document(s)", err=True)
        self.first = False
        now = time.monotonic()
        if now - self.shown_at < self.PERIOD and progress.done < progress.total:
            return
        self.shown_at = now
        percent = 100 * progress.done // max(progress.total, 1)
        click.echo(f"reindex: {progress.done:,} of {progress.total:,} document(s) ({percent}%), "
                   f"{progress.rate:,.0f} a second", err=True)


GRACE_HOURS = click.option("--grace-hours", default=None, type=click.IntRange(0),
                           help="Remove orphans older than this (default: the setting orphan_grace_hours). 0 only "
                                "when nothing is being uploaded: a writer's object before its row commits is young.")


@main.command("check")
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
@click.option("--repair", is_flag=True, help="First remove the orphans (as docsvc sweep does) and repair the "
                                             "search index, then check.")
@GRACE_HOURS
@user_errors
def check_command(as_json: bool, repair: bool, grace_hours: int | None) -> None:
    """Look for damage: every file row's stored object (there, of its size
    and hash), stored objects no row refers to, the search index, the
    retention locks of signed records, gaps and repeats in the register
    books, the audit chain. Exit 0 if none is
    found, 1 if any is (the problems are listed)."""
    from docsvc import upkeep

    rt = _runtime()
    try:
        swept = _sweep(rt, grace_hours) if repair else None
        report = upkeep.check_installation(rt, repair=repair)
    finally:
        rt.close()
    if as_json:
        click.echo(json.dumps({**report.to_json(), **({"swept": swept.to_json()} if swept else {})},
                              ensure_ascii=False, indent=2))
    else:
        if swept:
            _print_sweep(swept)
        _print_installation_check(report)
    sys.exit(0 if report.ok else 1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
@GRACE_HOURS
@user_errors
def sweep(as_json: bool, grace_hours: int | None) -> None:
    """Remove the stored objects no row refers to (left by requests that
    failed between storing and recording) once older than the grace period,
    after finishing those an earlier, interrupted sweep left hidden; retained
    objects, and everything while no row refers to any object, stay."""
    rt = _runtime()
    try:
        report = _sweep(rt, grace_hours)
    finally:
        rt.close()
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        _print_sweep(report)


def _sweep(rt: Runtime, grace_hours: int | None):
    from datetime import timedelta

    from docsvc import upkeep

    return upkeep.sweep_orphans(rt, None if grace_hours is None else timedelta(hours=grace_hours))


def _print_sweep(report) -> None:
    if report.skipped:
        click.echo(f"sweep: skipped ({report.skipped})")
        return
    click.echo(f"sweep: {report.objects:,} stored object(s), {report.young:,} within the grace period; "
               f"{report.removed:,} orphan(s) removed, {report.retained:,} retained kept, "
               f"{report.recorded_meanwhile:,} recorded meanwhile and put back")
    if report.unfinished:
        click.echo(f"sweep: {report.unfinished:,} object(s) an earlier sweep left hidden, finished as above"
                   + (f"; {report.still_hidden:,} younger than the grace still hidden" if report.still_hidden else ""))
    for key in report.removed_keys:
        click.echo(f"  removed {key}")


INSTALLATION_CHECKS = {
    "files": "file row(s): each has its stored object, of its size and hash",
    "objects": "stored object(s): each is referred to by a row, none left hidden by a sweep",
    "index": "ready document(s) against the search index",
    "retention": "signed version(s) of records: each is locked until its record's date",
    "registers": "register entr(y/ies): each book numbered 1..N, no gap, no repeat",
    "audit": "audit event(s): the chain, the seals and the checkpoints",
}


def _print_installation_check(report) -> None:
    found = report.to_json()["found"]
    for name, meaning in INSTALLATION_CHECKS.items():
        if name in report.skipped:
            click.echo(f"{name}: skipped ({report.skipped[name]})")
            continue
        kinds = ", ".join(f"{count:,} {kind}" for kind, count in found.get(name, {}).items())
        click.echo(f"{name}: {report.checked[name]:,} {meaning}: {kinds or 'ok'}")
    for problem in report.problems:
        where = problem.document_id or problem.key or (f"event {problem.event_id}" if problem.event_id else "")
        click.echo(f"  {problem.check} {problem.kind}: {where + ': ' if where else ''}{problem.detail}")
    shown, total = len(report.problems), sum(report.counts.values())
    if total > shown:
        click.echo(f"  … and {total - shown:,} more (docsvc check --json counts them by kind)")
    click.echo("no damage found" if report.ok else f"damage found: {total:,} problem(s)")


@main.group()
def report() -> None:
    """Reports: the incoming register (received, processed, in progress,
    overdue) and the administrative reform figures."""


@report.command("incoming")
@click.option("--from", "start", required=True, help="First day of the period, YYYY-MM-DD.")
@click.option("--to", "end", required=True, help="Last day of the period, YYYY-MM-DD.")
@click.option("--agency", "agency_code", default=None, help="Agency code (needed when there are several).")
@click.option("--format", "fmt", default="json", type=click.Choice(["json", "csv", "xlsx"]))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write to this file.")
@user_errors
def report_incoming(start, end, agency_code, fmt, out) -> None:
    """The incoming register report for a period, as JSON, CSV or XLSX."""
    from docsvc import incoming

    if fmt == "xlsx" and out is None:
        raise InvalidInput("An XLSX report is a file: give --out FILE.")
    start, end = incoming.parse_period(start, end)
    rt = _runtime()
    agency_id = _agency_id(rt, agency_code)
    with rt.read() as session:
        result = incoming.incoming_report(session, cli_operator(), start=start, end=end, agency_id=agency_id)
    if fmt == "json":
        data = (json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    else:
        data = incoming.to_csv(result) if fmt == "csv" else incoming.to_xlsx(result)
    if out is None:
        sys.stdout.buffer.write(data)
        return
    _write_report(out, data)
    click.echo(f"wrote {out}: {result.received} received, {result.processed} processed, "
               f"{result.in_progress_at_end} in progress, {result.overdue_at_end} overdue")


def _write_report(out: Path, data: bytes) -> None:
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(f"Cannot write {out} ({exc.strerror}).") from None


@report.command("reform")
@click.option("--agency", "agency_code", default=None, help="Agency code (needed when there are several).")
@click.option("--from", "start", default=None, help="First month, YYYY-MM (default: 11 months before --to).")
@click.option("--to", "end", default=None, help="Last month, YYYY-MM (default: this month, or 11 after --from).")
@click.option("--json", "as_json", is_flag=True, help="The figures as GET /api/v1/reports/reform gives them.")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write a CSV file.")
@click.option("--xlsx", "xlsx_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write an XLSX file.")
@user_errors
def report_reform(agency_code, start, end, as_json, csv_out, xlsx_out) -> None:
    """The administrative reform figures per month (docsvc/reform, the API's
    own): each share with the counts behind it, as text, JSON, CSV or XLSX."""
    from docsvc import reform

    if sum((as_json, csv_out is not None, xlsx_out is not None)) > 1:
        raise InvalidInput("Choose one of --json, --csv FILE and --xlsx FILE.")
    reform.parse_months(start, end)  # a wrong month is told before anything is opened
    rt = _runtime()
    agency_id = _agency_id(rt, agency_code)
    with rt.read() as session:
        result = reform.reform_report(session, cli_operator(), start=start, end=end, agency_id=agency_id)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    for out, extension in ((csv_out, "csv"), (xlsx_out, "xlsx")):
        if out is not None:
            _write_report(out, reform.RENDER[extension](result))
            click.echo(f"wrote {out}: {len(result.figures)} figures over {len(result.months)} month(s)")
            return
    click.echo(f"{result.agency_name} ({result.agency_code}): {reform.period_text(result, 'en')}")
    for figure in result.figures:
        label = f"{figure.key}:"
        if not figure.counted:
            click.echo(f"  {label:<22} not counted")
            continue
        total = figure.total
        click.echo(f"  {label:<22} {reform.percent(total.share, 'en'):>16}  ({total.numerator} of {total.denominator})")


# --- people ---------------------------------------------------------------------


@main.group()
def agency() -> None:
    """Agencies (commune, district, province)."""


@agency.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--level", default=AgencyLevel.OTHER.value, type=vocabulary_choice(AgencyLevel))
@click.option("--parent", "parent_code", default=None, help="Code of the agency above this one.")
@click.option("--symbol", default="", help="Its part of document numbers, e.g. UBND in 15/QĐ-UBND (default: from the code).")
@click.option("--org-code", default=None,
              help="Its electronic identification code (mã định danh, Decision 20/2020/QĐ-TTg), e.g. 000.00.00.H41.")
@click.option("--address", default="", help="Its postal address (the From of its edXML packages).")
@click.option("--email", default="")
@click.option("--telephone", default="")
@click.option("--place", default="", help="The place name its documents are dated at (Quảng Trạch, ngày …).")
@user_errors
def agency_add(code, name, level, parent_code, symbol, org_code, **contact) -> None:
    """Add an agency."""
    with _runtime().write() as session:
        accounts.add_agency(session, code, name, level=level, parent_code=parent_code, actor=cli_operator(),
                            symbol=symbol, org_code=org_code, contact=contact)
    click.echo(f"agency {code} added" + (f" ({org_code})" if org_code else ""))


@agency.command("set-org-code")
@click.argument("code")
@click.argument("org_code")
@user_errors
def agency_set_org_code(code, org_code) -> None:
    """Give an existing agency its organization code (the default agency has none at first)."""
    with _runtime().write() as session:
        accounts.set_org_code(session, code, org_code, actor=cli_operator())
    click.echo(f"agency {code}: {org_code}")


@agency.command("list")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def agency_list(as_json: bool) -> None:
    """The agencies of this installation, with their organization codes."""
    with _runtime().read() as session:
        rows = [accounts.agency_json(a) for a in accounts.list_agencies(session)]
    _print_rows(rows, as_json, "code", "org_code", "name")


def _print_rows(rows: list[dict], as_json: bool, *columns: str) -> None:
    """A listing: JSON for scripts, else one tab-separated line per row ("-" for an empty cell)."""
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        click.echo("\t".join(str(row[column] or "-") for column in columns))


@main.group()
def peer() -> None:
    """Peer installations that send this one edXML packages."""


@peer.command("add")
@click.argument("org_code")
@click.argument("url")
@click.option("--name", default="", help="The organization's name, for the headers of packages sent to it.")
@click.option("--send-token-env", default=None,
              help="Environment variable holding the token the peer gave this installation (else: peer set-token).")
@user_errors
def peer_add(org_code: str, url: str, name: str, send_token_env: str | None) -> None:
    """Exchange with ORG_CODE's installation at URL; prints the token it must present here (shown once)."""
    from docsvc import exchange

    send_token = _secret_from_env(send_token_env, "peer's token")
    rt = _runtime()
    with rt.write() as session:
        token = exchange.add_peer(session, cli_operator(), org_code, url, name)
        if send_token:
            exchange.set_send_token(session, rt.settings, cli_operator(), org_code, send_token)
    click.echo(token)


@peer.command("set-token")
@click.argument("org_code")
@click.option("--token-env", default="DOCSVC_PEER_TOKEN", show_default=True,
              help="Environment variable holding the token the peer's `docsvc peer add` printed.")
@user_errors
def peer_set_token(org_code: str, token_env: str) -> None:
    """Keep the token ORG_CODE's installation gave this one, presented when sending to it."""
    from docsvc import exchange

    rt = _runtime()
    with rt.write() as session:
        exchange.set_send_token(session, rt.settings, cli_operator(), org_code, _secret_from_env(token_env, "peer's token") or "")
    click.echo(org_code)


@peer.command("list")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def peer_list(as_json: bool) -> None:
    from docsvc import exchange

    with _runtime().read() as session:
        rows = exchange.list_peers(session)
    _print_rows(rows, as_json, "org_code", "url", "name", "can_send")


@main.group()
def edxml() -> None:
    """edXML packages exchanged with other agencies (QCVN 102:2016)."""


@edxml.command("build")
@click.argument("document_id")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--to", "to_org", required=True, help="The receiving organization's code, e.g. 000.00.00.G22.")
@click.option("--business", default="new", type=click.Choice(["new", "revocation", "update", "replacement"]))
@click.option("--reason", default="", help="Why (a revocation, update or replacement).")
@click.option("--competence", default="", help="Thẩm quyền ký, e.g. 'KT. CHỦ TỊCH' (default: TM. and the agency).")
@click.option("--position", default="", help="The signer's position, e.g. 'Phó Chủ tịch'.")
@click.option("--due-date", default=None, help="Hạn xử lý, YYYY-MM-DD.")
@click.option("--priority", default=0, type=click.IntRange(0, 3), help="0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc.")
@click.option("--passphrase-env", default="DOCSVC_SIGNING_PASSPHRASE", show_default=True,
              help="Environment variable holding the agency key's passphrase or PIN.")
@user_errors
def edxml_build(document_id, out, to_org, business, reason, competence, position, due_date, priority,
                passphrase_env) -> None:
    """Write the signed edXML package of an issued document for one receiving organization."""
    from docsvc import exchange, validation

    secret = _secret_from_env(passphrase_env, "agency key's passphrase") or ""
    options = exchange.SendOptions(business=exchange.BusinessType[business.upper()], reason=reason,
                                   competence=competence, position=position, priority=priority,
                                   due_date=validation.parse_date(due_date, "due_date"))
    data = exchange.build(_runtime(), cli_operator(), document_id, to_org, secret, options)
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(f"Cannot write {out} ({exc.strerror}).") from None
    click.echo(f"{out}")


def _package_bytes(path: Path, limit: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(limit + 1)  # one byte over tells "too large" without reading it all
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path} ({exc.strerror}).") from None


@edxml.command("show")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@user_errors
def edxml_show(path: Path, as_json: bool) -> None:
    """The parsed header of a package, its attachments and whether its signature holds."""
    from docsvc import exchange

    rt = _runtime()
    data = exchange.inspect(rt, _package_bytes(path, rt.settings.edxml_max_bytes))
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    header, signature = data["header"], data["signature"]
    click.echo(f"{header['document_id']}\t{header['from']['name']} → {', '.join(t['org_id'] for t in header['to'])}")
    click.echo(f"{header['subject']}")
    click.echo("signature: " + (f"valid ({signature['signer']})" if signature["valid"] else signature["reason"]))


@edxml.command("receive")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@user_errors
def edxml_receive(path: Path, as_json: bool) -> None:
    """Check a package that arrived as a file and record its incoming document (what the drop folder does)."""
    from docsvc import exchange

    rt = _runtime()
    received = exchange.receive_file(rt, _package_bytes(path, rt.settings.edxml_max_bytes))
    data = received.as_dict()
    click.echo(json.dumps(data, ensure_ascii=False) if as_json else f"{data['document_id']}\t{data['status']}")


@edxml.command("drop-folder")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def edxml_drop_folder(as_json: bool) -> None:
    """One round over the drop folder (setting exchange_drop_dir), as the worker's beat runs it."""
    from dataclasses import asdict

    from docsvc import exchange

    taken = exchange.take_drop_folder(_runtime())
    for item in taken:
        click.echo(json.dumps(asdict(item), ensure_ascii=False) if as_json
                   else f"{item.name}\t{item.state}\t{item.document_id or item.reason}")


@main.group()
def ecopy() -> None:
    """Citizens' certified e-copies and e-results."""


@ecopy.command("issue")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--citizen", "citizen_id", required=True, help="The citizen's identity card number (12 digits).")
@click.option("--title", required=True)
@click.option("--kind", default=EcopyKind.CERTIFIED_COPY.value, type=vocabulary_choice(EcopyKind))
@click.option("--agency", "agency_code", default=None)
@click.option("--passphrase-env", default="DOCSVC_SIGNING_PASSPHRASE", show_default=True,
              help="Environment variable holding the agency key's passphrase or PIN.")
@click.option("--timeout", default=600.0, help="Seconds to wait for OCR of a scan.")
@click.option("--requester", "requester_name", default=None, help="Who asked (default: the citizen's account name).")
@click.option("--original-title", default=None, help="The original's title (default: --title).")
@click.option("--original-issuer", default=None, help="The agency that issued the original.")
@click.option("--original-number", default=None, help="The original's number and symbol, e.g. 45/2024/TLKS-BS.")
@click.option("--original-date", default=None, help="The original's date, YYYY-MM-DD.")
@click.option("--book", "book_number", default=None, help="The year's certification book (quyển số; default: the one in use).")
@click.option("--certifier", "certifier_name", default=None, help="Who certifies (default: the configured certifier).")
@click.option("--certifier-title", default=None, help="Their title, e.g. Phó Chủ tịch UBND xã.")
@click.option("--pages", "page_count", default=None, help="The original's pages (default: the scan's).")
@click.option("--copies", default=None, help="Copies certified (default 1).")
@click.option("--dossier-code", default=None, help="The procedure's dossier code (mã hồ sơ), if it comes from one.")
@click.option("--fee", default=None, help="The fee charged, in đồng (default 0).")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def ecopy_issue(path, citizen_id, title, kind, agency_code, passphrase_env, timeout, as_json, **details) -> None:
    """Scan or PDF → OCR → stamped (certification text, QR, code) → signed B-LTA by the agency → registered."""
    from docsvc import ecopies

    validation.citizen_id(citizen_id)  # these refused before the scan is stored
    ecopies.check_particulars(details)
    secret = _secret_from_env(passphrase_env, "agency key's passphrase")
    rt = _runtime()
    operator = cli_operator()
    document_id, entry_id = documents.ingest(rt, operator, documents.local_file(path, rt), title=title, kind=DocumentKind.ECOPY,
                                             agency_id=_agency_id(rt, agency_code))
    wait_for(rt, entry_id, timeout)
    issued = ecopies.issue(rt, operator, document_id, citizen_id=citizen_id, secret=secret, kind=kind, details=details)
    data = {"id": document_id} | ecopies.issued_json(rt, issued)
    click.echo(json.dumps(data, ensure_ascii=False) if as_json else f"{data['code']}\t{document_id}")


@ecopy.command("status")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def ecopy_status(code: str, as_json: bool) -> None:
    """What anyone verifying the code sees: issuer, date, status, signatures."""
    from docsvc import ecopies

    data = ecopies.lookup(_runtime(), code, client="cli")
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(f"{data['code']}: {data['status']} — {data['issuer']}, {data['issued_at']}"
                   + (f" ({data['reason']})" if data["reason"] else ""))


@ecopy.command("revoke")
@click.argument("code")
@click.option("--reason", required=True)
@click.option("--superseded-by", default=None, help="The code of the e-copy that replaces it (supersede, not revoke).")
@user_errors
def ecopy_revoke(code: str, reason: str, superseded_by: str | None) -> None:
    """Revoke an e-copy (or supersede it by another); the file stays stored."""
    from docsvc import ecopies

    status = EcopyStatus.SUPERSEDED if superseded_by else EcopyStatus.REVOKED
    data = ecopies.change_status(_runtime(), cli_operator(), code, status, reason, superseded_by)
    click.echo(f"{data['code']}: {data['status']}")


@ecopy.command("download")
@click.argument("code")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@user_errors
def ecopy_download(code: str, out: Path) -> None:
    """Write the registered signed file of an e-copy."""
    from docsvc import ecopies

    rt = _runtime()
    with rt.read() as session:
        key = ecopies.signed_file_of(session, ecopies.by_code(session, code)).storage_key
    with rt.store.open(key) as reader, open(out, "wb") as handle:
        for chunk in reader.iter_chunks():
            handle.write(chunk)
    click.echo(f"{out}")


@main.group()
def archive() -> None:
    """Long-term validity of issued documents (PAdES B-LTA)."""


@archive.command("renew")
@click.option("--as-of", "as_of", default=None, help="Renew what is due at this ISO date-time (default: now).")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def archive_renew(as_of: str | None, as_json: bool) -> None:
    """Add a fresh archive time-stamp to issued documents that are due (what Celery beat runs daily)."""
    from datetime import datetime

    from docsvc import signatures

    try:
        when = datetime.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise InvalidInput("--as-of must be an ISO date-time, e.g. 2030-01-01T00:00:00+07:00.") from None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    renewed = signatures.renew_due(_runtime(), when)
    click.echo(json.dumps({"renewed": renewed}) if as_json else f"{len(renewed)} document(s) renewed")


@main.group()
def key() -> None:
    """Signing keys of people and agencies."""


@key.command("add")
@click.option("--user", "username", default=None, help="The official whose personal signature this is.")
@click.option("--agency", "agency_code", default=None, help="The agency whose seal (agency signature) this is.")
@click.option("--pkcs12", "pkcs12_path", default=None, type=click.Path(dir_okay=False, exists=True))
@click.option("--pkcs11-module", default=None)
@click.option("--token-label", default="")
@click.option("--key-label", default="")
@click.option("--image", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="PNG with a transparent background: the handwritten signature, or the red seal at its real size.")
@user_errors
def key_add(username, agency_code, pkcs12_path, pkcs11_module, token_label, key_label, image) -> None:
    """Say which key signs for a person or an agency (its passphrase or PIN is never stored)."""
    from docsvc import signatures

    if bool(username) == bool(agency_code) or bool(pkcs12_path) == bool(pkcs11_module):
        raise InvalidInput("Give one of --user or --agency, and one of --pkcs12 or --pkcs11-module.")
    rt = _runtime()
    with rt.read() as session:
        if username:
            owner = session.scalar(select(User).where(User.username == username))
            if owner is None:
                raise InvalidInput(f"No user {username}.")
            owner_type, owner_id = CredentialOwner.USER, owner.id
        else:
            owner_type, owner_id = CredentialOwner.AGENCY, accounts.agency_by_code(session, agency_code).id
    signatures.add_credential(
        rt, cli_operator(), owner_type=owner_type, owner_id=owner_id,
        source=CredentialSource.PKCS12 if pkcs12_path else CredentialSource.PKCS11, location=pkcs12_path or pkcs11_module,
        token_label=token_label, key_label=key_label, image=image,
    )
    click.echo(f"signing key set for {owner_type} {username or agency_code}")
    if pkcs12_path and signatures.readable_by_others(pkcs12_path):
        click.echo(f"docsvc: warning: other users of this machine can read {pkcs12_path}; "
                   f"make it readable by docsvc's account only (chmod 600).", err=True)


@main.group()
def user() -> None:
    """User accounts."""


def _new_password(password_env: str | None, password_stdin: bool) -> str:
    """A password from an environment variable, the first line of stdin, or a prompt."""
    if password_env:
        password = os.environ.get(password_env)
        if password is None:
            raise InvalidInput(f"Environment variable {password_env} is not set.")
        return password
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    raise InvalidInput("No terminal to ask for the password: use --password-env VAR or --password-stdin.")


def password_options(command):
    """--password-env VAR and --password-stdin, for the commands that set a password."""
    command = click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")(command)
    return click.option("--password-env", default=None, help="Read the password from this environment variable.")(command)


@user.command("add")
@click.argument("username")
@click.option("--role", required=True, type=vocabulary_choice(Role))
@click.option("--agency", "agency_code", default=None)
@click.option("--full-name", default="")
@click.option("--citizen-id", default=None)
@password_options
@user_errors
def user_add(username, role, agency_code, full_name, citizen_id, password_env, password_stdin) -> None:
    password = _new_password(password_env, password_stdin)
    with _runtime().write() as session:
        accounts.add_user(
            session, username, password, role, agency_code=agency_code, full_name=full_name, citizen_id=citizen_id
        )
    click.echo(f"user {username} added")


@user.command("password")
@click.argument("username")
@password_options
@user_errors
def user_password(username, password_env, password_stdin) -> None:
    """Set a new password; the user's browser sessions end and their API tokens are revoked."""
    password = _new_password(password_env, password_stdin)
    with _runtime().write() as session:
        accounts.set_password(session, username, password, actor=cli_operator())
    click.echo(f"password of {username} changed; their sessions ended and their API tokens were revoked")


@user.command("disable")
@click.argument("username")
@user_errors
def user_disable(username) -> None:
    """The user can no longer sign in; their sessions end, their API tokens are refused."""
    _set_active(username, False)


def _set_active(username: str, active: bool) -> None:
    with _runtime().write() as session:
        accounts.set_active(session, username, active, actor=cli_operator())
    click.echo(f"user {username} {'enabled' if active else 'disabled'}")


@user.command("enable")
@click.argument("username")
@user_errors
def user_enable(username) -> None:
    """Let a disabled user sign in again (their unexpired, unrevoked tokens work again)."""
    _set_active(username, True)


@main.group()
def token() -> None:
    """API tokens."""


@token.command("list")
@click.option("--user", "username", default=None, help="Only this user's tokens.")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def token_list(username, as_json) -> None:
    """Every API token (id, owner, name, issued, expires, revoked); never the secrets."""
    rt = _runtime()
    with rt.read() as session:
        query = select(ApiToken).order_by(ApiToken.id)
        if username:
            query = query.where(ApiToken.user_id == accounts.user_by_username(session, username).id)
        rows = [{"id": row.id, "user": row.user.username, "name": row.name,
                 "created_at": row.created_at.isoformat(),
                 "expires_at": accounts.token_expiry(row, rt.settings.token_days).isoformat(),
                 "revoked": row.revoked_at is not None} for row in session.scalars(query)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        state = "revoked" if row["revoked"] else f"expires {row['expires_at'][:16]}"
        click.echo(f"{row['id']:>6}  {row['user']:<24} {row['name'] or '-':<24} {state}")


@token.command("revoke")
@click.argument("token_ids", nargs=-1, type=int)
@click.option("--user", "username", default=None, help="Revoke every token of this user.")
@user_errors
def token_revoke(token_ids, username) -> None:
    """Revoke API tokens by id (see `docsvc token list`), or all of a user's."""
    if not token_ids and not username:
        raise InvalidInput("Name the tokens to revoke (their ids) or a user (--user).")
    operator = cli_operator()
    with _runtime().write() as session:
        for token_id in token_ids:
            accounts.revoke_token_id(session, operator, token_id)
        count = len(token_ids)
        if username:
            owner = accounts.user_by_username(session, username)
            revoked = accounts.revoke_tokens(session, owner)
            audit.record(session, operator, "token.revoke", "user", owner.username, {"all": True, "count": revoked})
            count += revoked
    click.echo(f"{count} API token(s) revoked")


# --- signatures -------------------------------------------------------------------


@main.group()
def pki() -> None:
    """The development PKI (root and issuing CA, TSA, OCSP, CRL on 127.0.0.1)."""


@pki.command("init")
@user_errors
def pki_init() -> None:
    """Create the development PKI (once) and trust its root in this installation."""
    from docsvc import signatures

    settings = load_settings()
    created = signatures.create_dev_pki(settings)
    click.echo(f"development PKI in {created.folder}; TSA, OCSP and CRL at {created.base_url}")
    for name in ("official", "agency"):
        click.echo(f"  {name}: {created.p12_path(name)}")


def _secret_from_env(variable: str | None, what: str) -> str | None:
    if variable is None:
        return None
    value = os.environ.get(variable)
    if value is None:
        raise InvalidInput(f"Environment variable {variable} (the {what}) is not set.")
    return value


@main.command()
@click.argument("input_path", metavar="IN.pdf", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("output_path", metavar="OUT.pdf", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pkcs12", "pkcs12_path", type=click.Path(dir_okay=False, path_type=Path), help="A PKCS#12 (.p12) key file.")
@click.option("--passphrase-env", default=None, help="Environment variable holding the PKCS#12 passphrase.")
@click.option("--pkcs11-module", default=None, help="PKCS#11 library of a token or HSM (e.g. libsofthsm2.so).")
@click.option("--token-label", default=None)
@click.option("--key-label", default=None)
@click.option("--pin-env", default=None, help="Environment variable holding the token's PIN.")
@click.option("--level", default="B-LTA", show_default=True, type=click.Choice(["B-B", "B-T", "B-LT", "B-LTA"]))
@click.option("--appearance", default="none", show_default=True, type=click.Choice(["none", "copy"]),
              help="none: an invisible signature; copy: the Decree 30 'Sao y' text, top right of page 1.")
@click.option("--agency-name", default=None, help="The copying agency's name, for --appearance copy.")
@user_errors
def sign(input_path, output_path, pkcs12_path, passphrase_env, pkcs11_module, token_label, key_label, pin_env,
         level, appearance, agency_name) -> None:
    """Sign a PDF (PAdES) with a PKCS#12 file or a PKCS#11 token."""
    from docsvc import signatures
    from signing import CopyStamp, Pkcs11Key, Pkcs12Key, sign_pdf

    if bool(pkcs12_path) == bool(pkcs11_module):
        raise InvalidInput("Give exactly one key: --pkcs12 FILE or --pkcs11-module LIB.")
    if appearance == "copy" and not agency_name:
        raise InvalidInput("--appearance copy needs --agency-name.")
    if output_path.resolve() == input_path.resolve():
        raise InvalidInput("OUT.pdf must be a new file: the input is never overwritten.")
    try:
        source = input_path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{input_path}: cannot read the file ({exc.strerror}).") from None
    if pkcs12_path:
        key = Pkcs12Key(pkcs12_path, _secret_from_env(passphrase_env, "passphrase") or "")
    else:
        key = Pkcs11Key(pkcs11_module, _secret_from_env(pin_env, "PIN") or "", token_label=token_label, key_label=key_label)
    settings = load_settings()
    stamp = CopyStamp(agency=agency_name) if appearance == "copy" else None
    signed = io.BytesIO()
    with key, signatures.dev_services(settings):
        result = sign_pdf(io.BytesIO(source), signed, key, level=level, appearance=stamp,
                          trust=signatures.trust_config(settings))
    # Written only once signing succeeded: a failure leaves no half-signed file.
    output_path.write_bytes(signed.getbuffer())
    click.echo(f"signed by {result.signer} at {result.signing_time.isoformat()} ({result.level}) -> {output_path}")


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="The report as JSON: each reason's code, params and English message.")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
              help="The language of the reasons: Vietnamese (the default, as on the pages) or English.")
@user_errors
def verify(path: Path, as_json: bool, lang: str) -> None:
    """Verify the signatures of any PDF. Exit 0 if valid, 1 if invalid or indeterminate."""
    from docsvc import signatures
    from docsvc.texts import reason_text

    try:
        handle = open(path, "rb")  # noqa: SIM115 (the try is for the open alone; `with handle` follows)
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read the file ({exc.strerror}).") from None
    with handle:
        report = signatures.verify(load_settings(), handle)
    data = report.to_json()
    ecopy = _registered_ecopy(path)
    if ecopy is not None:
        data["ecopy"] = ecopy
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(f"verdict: {data['verdict']}")
        for reason in report.reasons:
            click.echo(f"  {reason_text(reason, lang)}")
        for number, signature in enumerate(report.signatures, 1):
            click.echo(f"signature {number}: {signature.verdict} — {signature.signer} ({signature.level})")
            for reason in signature.reasons:
                click.echo(f"  {reason_text(reason, lang)}")
        if ecopy is not None:
            click.echo(f"e-copy {ecopy['code']}: {ecopy['status']}, "
                       f"{'the registered file' if ecopy['matches_registered_file'] else 'NOT the registered file'}")
    # An e-copy that is revoked, superseded or not the registered file is not genuine, whatever its signatures say.
    genuine_copy = ecopy is None or (ecopy["status"] == EcopyStatus.ACTIVE and ecopy["matches_registered_file"])
    sys.exit(0 if data["verdict"] == "valid" and genuine_copy else 1)


def _registered_ecopy(path: Path) -> dict | None:
    """The e-copy this file is, or claims to be, in this installation's register;
    None when it is neither, or when there is no installation here to ask."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import OperationalError

    from docsvc import ecopies
    from storage.base import hash_file

    rt = _runtime()
    try:
        try:
            if not inspect(rt.engine).has_table("ecopies"):
                return None
        except OperationalError:  # no database here: verification alone
            return None
        sha256, _ = hash_file(path)
        found = ecopies.match_file(rt, path, sha256, client="cli")
        return None if found is None else {k: found[k] for k in ("code", "status", "matches_registered_file")} | {
            k: found.get(k) for k in ("issuer", "issued_at", "reason", "superseded_by")}
    finally:
        rt.close()


@main.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def audit_verify(as_json: bool) -> None:
    """Check the audit log: its hash chain, every event's seal with the key
    (outside the database), and the checkpoints anchored in storage."""
    from docsvc import audit_anchor

    rt = _runtime()
    try:
        key = audit.audit_key(rt.settings, create=False)
        with rt.read() as session:
            check = audit_anchor.check_log(rt, session, key)
    finally:
        rt.close()
    if not check.ok:
        where = f" (first bad event: {check.first_bad_id})" if check.first_bad_id else ""
        raise audit_anchor.AuditTampered(f"The audit log has been altered: {check.reason}{where}.")
    if as_json:
        click.echo(json.dumps({"ok": True, "events": check.events, "checkpoints": check.checkpoints,
                               "latest_checkpoint": check.latest_checkpoint}))
        return
    anchored = f", anchored up to event {check.latest_checkpoint}" if check.latest_checkpoint else ", not yet anchored"
    click.echo(f"audit log intact: {check.events} event(s), {check.checkpoints} checkpoint(s){anchored}")


@audit_group.command("checkpoint")
@user_errors
def audit_checkpoint() -> None:
    """Anchor the audit chain's head in WORM storage now (beat does it every audit_checkpoint_minutes)."""
    from docsvc import audit_anchor

    rt = _runtime()
    try:
        checkpoint = audit_anchor.write_checkpoint(rt)
    finally:
        rt.close()
    click.echo(f"anchored at event {checkpoint.seq}: {checkpoint.name}" if checkpoint else "already anchored")


@audit_group.command("seal")
@user_errors
def audit_seal() -> None:
    """Once, after upgrading an installation whose log was written before it
    had a key: seal those events with the key (the chain is checked first)."""
    rt = _runtime()
    try:
        with rt.write() as session:
            sealed = audit.seal(session)
    finally:
        rt.close()
    click.echo(f"sealed {sealed} event(s)")


if __name__ == "__main__":
    main()
