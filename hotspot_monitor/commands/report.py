"""report FILE --month YYYY-MM: the monthly partner report (docs/report.md).

``--format csv|xlsx|html|pdf`` (default pdf), ``--partner ID`` (default: every
site, default rules), ``--out PATH`` (default ``report-<partner|city>-<month>.<fmt>``
in the current directory; ``-`` for standard output), ``--lang id|en``
(default: the partner's report language, else Indonesian). ``--send`` e-mails
the partner's formats to its contacts now, recorded like a scheduled send.
Progress goes to stderr when it is a terminal.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import load_or_report

STEPS = ("availability", "usage", "clients", "load", "previous month", "render")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="YAML config file")
    p.add_argument("--month", required=True, help="the month, YYYY-MM (local time of the config's timezone)")
    p.add_argument("--partner", help="a partners[].id: its sites and accounting rules (default: every site)")
    p.add_argument("--format", default="pdf", choices=("csv", "xlsx", "html", "pdf"))
    p.add_argument("--out", help="where to write (default report-<partner|city>-<month>.<format>; - = stdout)")
    p.add_argument("--lang", choices=("id", "en"), help="language of the HTML, PDF and XLSX (default: "
                   "the partner's report language, else id)")
    p.add_argument("--send", action="store_true",
                   help="e-mail the partner's report formats to its contacts now (needs --partner)")
    p.add_argument("--no-compare", action="store_true", help="skip the previous month's figures (faster)")
    p.add_argument("--base-dir", type=Path, default=None,
                   help="directory that relative paths in the config are taken from (default: cwd)")


class Progress:
    """One line on a terminal: ``[###---] 3/6 clients 1.2s``; silent when not a TTY."""

    def __init__(self, steps: tuple[str, ...], stream=sys.stderr):  # type: ignore[no-untyped-def]
        self.steps = steps
        self.stream = stream
        self.on = stream.isatty()
        self.t0 = time.monotonic()
        self.n = 0

    def __call__(self, step: str) -> None:
        if step in self.steps:
            self.n = self.steps.index(step) + 1
        if not self.on:
            return
        width = 20
        done = int(width * (self.n - 1) / len(self.steps))
        self.stream.write(f"\r[{'#' * done}{'-' * (width - done)}] {self.n}/{len(self.steps)} "
                          f"{step:<16} {time.monotonic() - self.t0:5.1f}s")
        self.stream.flush()

    def done(self) -> None:
        if self.on:
            self.stream.write(f"\r[{'#' * 20}] {len(self.steps)}/{len(self.steps)} done "
                              f"{time.monotonic() - self.t0:5.1f}s{' ' * 8}\n")
            self.stream.flush()


def main(args: argparse.Namespace) -> int:
    from ..reports.period import Month
    from ..reports.render import filename, render
    from ..status.statestore import StateStore
    from ..stores.base import StoreError
    from ..stores.factory import open_store

    cfg = load_or_report(args.file)
    if cfg is None:
        return 2
    try:
        month = Month.parse(args.month)
    except ValueError as e:
        print(f"report: {e}", file=sys.stderr)
        return 2
    partner = next((p for p in cfg.partners if p.id == args.partner), None)
    if args.partner is not None and partner is None:
        known = ", ".join(p.id for p in cfg.partners) or "none configured"
        print(f"report: unknown partner {args.partner!r} (partners: {known})", file=sys.stderr)
        return 2
    if args.send and partner is None:
        print("report: --send needs --partner (the report goes to that partner's contacts)", file=sys.stderr)
        return 2
    lang = args.lang or (partner.report.language if partner else "id")
    base = args.base_dir or Path.cwd()
    try:
        states = StateStore.from_config(cfg, base)
    except Exception as e:  # SQLAlchemy raises many kinds; the URL may hold a password
        print(f"report: state store unusable: {type(e).__name__}", file=sys.stderr)
        return 1
    try:
        store = open_store(cfg.store, base)
    except StoreError as e:
        print(f"report: metric store unusable: {e}", file=sys.stderr)
        states.close()
        return 1
    progress = Progress(STEPS if not args.no_compare else tuple(s for s in STEPS if s != "previous month"))
    try:
        if args.send:
            from ..runner import ServicePaths

            return _send(cfg, states, store, ServicePaths(base).state_dir(cfg), partner.id, month, progress)
        from ..reports.build import build_report

        if args.format == "pdf":
            _preload_pdf_libraries()
        report = build_report(cfg, states, store, month, args.partner, progress=progress,
                              compare=not args.no_compare)
        progress("render")
        data = render(report, args.format, lang)
        progress.done()
        if args.out == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            out = Path(args.out) if args.out else Path(filename(report, args.format))
            out.write_bytes(data)
            print(f"{out}: {args.format}, {len(data):,} bytes, {report.scope.key} {month}", file=sys.stderr)
        return 0
    except StoreError as e:
        print(f"\nreport: {e}", file=sys.stderr)
        return 1
    finally:
        store.close()
        states.close()


def _send(cfg, states, store, state_dir: Path, partner: str, month, progress: Progress
          ) -> int:  # type: ignore[no-untyped-def]
    from ..reports.sender import ReportSender

    out = ReportSender(cfg, states, store, state_dir).resend(partner, month, trigger="cli")
    progress.done()
    if out.result == "ok":
        print(f"report {partner} {month} sent: " + ", ".join(f.name for f in out.files), file=sys.stderr)
        return 0
    print(f"report {partner} {month} NOT sent ({out.result}): {out.error}", file=sys.stderr)
    return 1


def _preload_pdf_libraries() -> None:
    """Import matplotlib and WeasyPrint (~2-3 s) in a thread while the stores are read:
    SQLite and HTTP reads release the GIL, so the PDF is ready that much sooner."""
    import threading

    def load() -> None:
        import matplotlib.figure  # noqa: F401
        import weasyprint  # noqa: F401

    threading.Thread(target=load, name="preload-pdf", daemon=True).start()
