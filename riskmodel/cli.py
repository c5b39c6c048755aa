"""The ``riskmodel`` command line (PRODUCT.md section 4): translates between people and the analyses.

Exit codes: 0 success, 1 invalid input data (errors on stderr, one per line, ``FILE:ROW:COLUMN: message``),
2 wrong usage. ``--json`` prints one JSON document on stdout and nothing else there.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

__all__ = ["main"]

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2
MAX_PRINTED_ISSUES = 1000


class _Parser(argparse.ArgumentParser):
    """argparse that exits with 2 and a one-line hint on wrong usage (its default too, made explicit)."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _print_issues(issues, stream, prefix: str = "") -> None:
    for issue in issues[:MAX_PRINTED_ISSUES]:
        print(f"{prefix}{issue}", file=stream)
    if len(issues) > MAX_PRINTED_ISSUES:
        print(f"{prefix}... and {len(issues) - MAX_PRINTED_ISSUES} more (use --json for all)", file=stream)


def _dump(doc) -> None:
    # json.dumps runs the C encoder in one go; json.dump streams through the pure-Python one (30x slower at 100k)
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, allow_nan=False) + "\n")


def _load(args):
    """Validate DATA; on errors print them and return None (the caller exits 1)."""
    from riskmodel.validate import validate_dataset

    report = validate_dataset(args.data)
    if not report.valid:
        _print_issues(report.errors, sys.stderr)
        print(f"{args.data}: {len(report.errors)} error(s); nothing loaded", file=sys.stderr)
        return None
    return report


# ---------------------------------------------------------------------------------------------- commands
def cmd_validate(args) -> int:
    from riskmodel.validate import validate_dataset

    report = validate_dataset(args.data)
    if args.json:
        _dump(report.to_json())
        if not report.valid:
            _print_issues(report.errors, sys.stderr)
        return EXIT_OK if report.valid else EXIT_DATA
    if not report.valid:
        _print_issues(report.errors, sys.stderr)
        print(f"{args.data}: {len(report.errors)} error(s), {len(report.warnings)} warning(s): not valid",
              file=sys.stderr)
        return EXIT_DATA
    c = report.counts
    print(f"{args.data}: valid")
    print(f"  {c['sites']} sites, {c['links']} active links, {c['backup_links']} backup links, "
          f"{c['materials']} materials, {c['operators']} operators")
    print("  by kind: " + ", ".join(f"{k} {v}" for k, v in c["by_kind"].items() if v))
    print(f"  {c['countries']} countries; regions: " + ", ".join(f"{k} {v}" for k, v in c["regions"].items()))
    print(f"  {c['markets']} markets, total weekly demand {c['total_weekly_demand']:,.0f} units")
    if report.warnings:
        print(f"  {len(report.warnings)} warning(s):")
        _print_issues(report.warnings, sys.stdout, prefix="    ")
    return EXIT_OK


def cmd_template(args) -> int:
    from riskmodel.template import write_templates

    paths = write_templates(args.out)
    for p in paths:
        print(p)
    return EXIT_OK


def cmd_generate(args) -> int:
    from riskmodel.generate import generate_network, write_dataset

    t0 = time.perf_counter()
    try:
        sites, links = generate_network(args.sites, args.seed)
    except ValueError as exc:
        print(f"riskmodel generate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    write_dataset(sites, links, args.out)
    print(f"wrote {len(sites)} sites and {len(links)} links to {args.out} (seed {args.seed}) in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return EXIT_OK


def cmd_exposure(args) -> int:
    from riskmodel.exposure import exposure_json, format_exposure_table, site_exposure

    report = _load(args)
    if report is None:
        return EXIT_DATA
    net = report.network()
    if args.json:
        _dump(exposure_json(net))
    else:
        print(format_exposure_table(site_exposure(net), top=args.top))
    return EXIT_OK


def _disruptions(args, command: str):
    """The disruptions of the ``--disrupt``/``--weeks``/... options (:func:`_disruption_options`), or None after
    printing why they are wrong (the caller exits 2)."""
    from riskmodel.disruption import DisruptionError, disruptions_from_specs

    try:
        return disruptions_from_specs(args.disrupt, args.weeks, args.severity, args.start_day, args.recovery)
    except (DisruptionError, ValueError) as exc:
        print(f"riskmodel {command}: {exc}", file=sys.stderr)
        return None


def cmd_simulate(args) -> int:
    from riskmodel.disruption import DisruptionError
    from riskmodel.simulate import format_simulation, simulate_json

    disruptions = _disruptions(args, "simulate")
    if disruptions is None:
        return EXIT_USAGE
    report = _load(args)
    if report is None:
        return EXIT_DATA
    try:
        doc = simulate_json(report.network(), disruptions, args.horizon_weeks)
    except (DisruptionError, ValueError) as exc:
        print(f"riskmodel simulate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        _dump(doc)
    else:
        print(format_simulation(doc))
    return EXIT_OK


def cmd_tts(args) -> int:
    from riskmodel.tts import format_tts, tts_json

    report = _load(args)
    if report is None:
        return EXIT_DATA
    doc = tts_json(report.network())
    if args.json:
        _dump(doc)
    else:
        print(format_tts(doc, top=args.top))
    return EXIT_OK


def cmd_regionalize(args) -> int:
    from riskmodel.candidates import load_candidates
    from riskmodel.regionalize import format_regionalization, regionalize_json

    report = _load(args)
    if report is None:
        return EXIT_DATA
    net = report.network()
    candidates = None
    if args.candidates is not None:
        candidates, issues = load_candidates(args.candidates, net)
        if candidates is None:
            _print_issues(issues, sys.stderr)
            return EXIT_DATA
        _print_issues(issues, sys.stderr, prefix="warning: ")
    try:
        doc = regionalize_json(net, candidates=candidates, budget=args.budget)
    except ValueError as exc:
        print(f"riskmodel regionalize: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        _dump(doc)
    else:
        print(format_regionalization(doc))
    return EXIT_OK


def _whole_number(text: str, option: str, minimum: int) -> int | None:
    """``text`` as a whole number of at least ``minimum``, or None after printing one line (the caller exits 2)."""
    try:
        value = int(str(text).strip().replace("_", ""))
    except ValueError:
        value = None
    if value is None or value < minimum:
        print(f"riskmodel montecarlo: {option} must be a whole number of at least {minimum}, got {text!r}",
              file=sys.stderr)
        return None
    return value


def cmd_montecarlo(args) -> int:
    """Probabilistic risk (PRODUCT.md section 3.3): expected loss, p95, CVaR95 per market and total, contributions."""
    years = _whole_number(args.years, "--years", 1)
    seed = None if years is None else _whole_number(args.seed, "--seed", 0)
    if seed is None:
        return EXIT_USAGE
    from riskmodel.montecarlo import MonteCarloError, format_montecarlo, run_montecarlo

    report = _load(args)
    if report is None:
        return EXIT_DATA
    # a Dask client that failed to connect may complain while Python exits: never a traceback for the user
    sys.unraisablehook = lambda unraisable: None
    try:
        result = run_montecarlo(report.network(), years, seed=seed, scheduler=args.scheduler,
                                contributions=False if args.no_contributions else args.contributions)
    except MonteCarloError as exc:
        print(f"riskmodel montecarlo: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        _dump(result.to_json())
    else:
        print(format_montecarlo(result, top=args.top))
    where = f" on {args.scheduler}" if args.scheduler else ""
    print(f"riskmodel montecarlo: {years:,} years (seed {seed}){where} in {result.elapsed_s:.1f} s", file=sys.stderr)
    return EXIT_OK


REPORT_FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf", ".xlsx": "xlsx"}


def cmd_report(args) -> int:
    """The overview or a what-if scenario as a report (HTML, PDF or Excel), written to ``--out``."""
    kind = args.kind or ("what-if" if args.disrupt else "overview")
    fmt = args.format or REPORT_FORMATS.get(args.out.suffix.lower())
    if fmt is None:
        print("riskmodel report: give --format html, pdf or xlsx (or an --out ending in .html, .pdf or .xlsx)",
              file=sys.stderr)
        return EXIT_USAGE
    if kind == "overview" and args.disrupt:
        print("riskmodel report: --disrupt is for --kind what-if", file=sys.stderr)
        return EXIT_USAGE
    if kind == "what-if" and (not args.disrupt or args.weeks is None):
        print("riskmodel report: --kind what-if needs --disrupt SPEC and --weeks W (as riskmodel simulate)",
              file=sys.stderr)
        return EXIT_USAGE
    if not args.out.parent.is_dir():
        print(f"riskmodel report: no folder {args.out.parent} for --out", file=sys.stderr)
        return EXIT_USAGE
    spec = None
    if kind == "what-if":
        disruptions = _disruptions(args, "report")
        if disruptions is None:
            return EXIT_USAGE
        from dashboard.scenarios import from_disruptions
        from riskmodel.disruption import DisruptionError

        try:
            spec = from_disruptions(disruptions, args.horizon_weeks)
        except DisruptionError as exc:
            print(f"riskmodel report: {exc}", file=sys.stderr)
            return EXIT_USAGE
    t0 = time.perf_counter()
    from dashboard import reports

    if fmt != "xlsx":
        import logging
        import threading

        class OneLine(logging.Formatter):  # warnings of the report modules, without tracebacks
            def format(self, record):
                return "riskmodel report: " + (record.getMessage().splitlines() or [""])[0][:300]

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(OneLine())
        logging.getLogger("dashboard").addHandler(handler)
        # a browser that fails in kaleido's own thread: one line, not a traceback (the report then says why)
        threading.excepthook = lambda a: print(f"riskmodel report: {reports.short_error(a.exc_value)}",
                                               file=sys.stderr)
        reports.start_renderer()  # the browser starts while the data is read and analysed
    report = _load(args)
    if report is None:
        return EXIT_DATA
    from dashboard.state import Dataset
    from riskmodel.disruption import DisruptionError

    ds = Dataset(report, Path(args.data).name or str(args.data), source=str(args.data))
    label = f"read from {args.data}"
    try:
        doc = (reports.whatif_report(ds, spec, data=str(args.data), version_label=label) if spec is not None
               else reports.overview_report(ds, version_label=label))
        data = reports.render(doc, fmt)
    except (DisruptionError, reports.ReportError) as exc:
        print(f"riskmodel report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        args.out.write_bytes(data)
    except OSError as exc:
        print(f"riskmodel report: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote the {kind} report to {args.out} ({fmt}, {len(data) / 1024:,.0f} KiB) in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return EXIT_OK


def cmd_user(args) -> int:
    import getpass

    from riskmodel.store import StoreError
    from riskmodel.users import ROLES, UserError, add_user, end_sessions, list_users, read_password, remove_user

    actor = f"cli:{getpass.getuser()}"
    try:
        if args.user_command == "add":
            password = read_password(sys.stdin, f"Password for {args.name}: ", confirm=True)
            user = add_user(args.name, args.role, password, by=actor)
            print(f"added {user.name} ({user.role})", file=sys.stderr)
        elif args.user_command == "remove":
            remove_user(args.name, by=actor)
            print(f"removed {args.name}", file=sys.stderr)
        elif args.user_command == "signout":
            end_sessions(args.name, by=actor)
            print(f"signed {args.name} out everywhere: every open session of the account is refused", file=sys.stderr)
        else:
            users = list_users()
            if args.json:
                _dump([{"name": u.name, "role": u.role, "created": u.created_at.isoformat()} for u in users])
            else:
                for u in users:
                    print(f"{u.name}\t{u.role}\t{u.created_at:%Y-%m-%d %H:%M}")
                if not users:
                    print(f"no users yet: add one with `riskmodel user add NAME --role {'|'.join(ROLES)}`",
                          file=sys.stderr)
    except UserError as exc:
        print(f"riskmodel user: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (StoreError, LookupError) as exc:
        print(f"riskmodel user: {exc}", file=sys.stderr)
        return EXIT_DATA
    return EXIT_OK


def _is_loopback_host(host: str) -> bool:
    """Whether ``host`` is this computer only (``localhost`` or a loopback address such as 127.0.0.1 or ::1)."""
    import ipaddress

    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cmd_serve(args) -> int:
    import sqlalchemy as sa

    from dashboard import auth
    from riskmodel.paths import DATA_DIR
    from riskmodel.store import Store, StoreError
    from riskmodel.users import list_users
    from riskmodel.validate import validate_dataset

    if args.workers < 1:
        print(f"riskmodel serve: --workers must be at least 1 (got {args.workers})", file=sys.stderr)
        return EXIT_USAGE
    if not 0 < args.port < 65536:
        print(f"riskmodel serve: --port must be between 1 and 65535 (got {args.port})", file=sys.stderr)
        return EXIT_USAGE
    loopback = _is_loopback_host(args.host)
    try:
        store = Store()
    except (StoreError, sa.exc.SQLAlchemyError, OSError) as exc:
        print(f"riskmodel serve: cannot open the database: {exc}", file=sys.stderr)
        return EXIT_DATA
    try:
        has_users = bool(list_users(store=store))
        if not loopback and not has_users:
            print(f"riskmodel serve: refusing to serve on {args.host}: no user accounts exist: create one with "
                  "`riskmodel user add NAME --role admin`, or serve on 127.0.0.1", file=sys.stderr)
            return EXIT_USAGE
        # without --data the installation keeps showing its active version (the sample only on a new database)
        active = store.active_dataset() if args.data is None else None
        data = args.data if args.data is not None else str(DATA_DIR / "sample")
        shown = f"version {active.id} ({active.name}) from the database" if active is not None else data
        if active is None:
            report = validate_dataset(data)
            if not report.valid:
                _print_issues(report.errors, sys.stderr)
                print(f"{data}: {len(report.errors)} error(s); not serving", file=sys.stderr)
                return EXIT_DATA
        from dashboard.state import ensure_version

        auth.secret_key()  # made once here, before the workers start (they share it)
        auth.proxy_hops()  # a wrong setting stops here, not in every worker
        if active is None:
            ensure_version(store, report, Path(data).name, report.source)
    except auth.AuthError as exc:
        print(f"riskmodel serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (StoreError, sa.exc.SQLAlchemyError, OSError) as exc:
        print(f"riskmodel serve: cannot store the dataset: {exc}", file=sys.stderr)
        return EXIT_DATA
    finally:
        store.close()  # each worker opens its own connections
    from dashboard.server import serve

    mode = "sign-in required" if has_users or not loopback else "local use: no accounts yet, this computer only"
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"riskmodel dashboard on http://{host}:{args.port}/ (data: {shown}; {args.workers} worker(s); {mode})",
          file=sys.stderr)
    serve(args.host, args.port, workers=args.workers, auth_required=None if loopback else True)
    return EXIT_OK


def _disruption_options(p: argparse.ArgumentParser, required: bool) -> None:
    """The options that describe a what-if disruption (``simulate`` and ``report``)."""
    p.add_argument("--disrupt", action="append", required=required, metavar="SPEC",
                   help="site:ID, operator:NAME, country:CODE, region:NAME, circle:LAT,LON,KM or polygon:FILE")
    p.add_argument("--weeks", type=float, required=required, help="duration of the disruption in weeks")
    p.add_argument("--severity", type=float, default=1.0, help="capacity lost, 0-1 (default 1)")
    p.add_argument("--start-day", type=int, default=0)
    p.add_argument("--recovery", choices=["step", "linear"], default="step")
    p.add_argument("--horizon-weeks", type=float, default=52.0)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="riskmodel", description="Pharmaceutical supply-chain resilience and risk model (offline).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    v = sub.add_parser("validate", help="check a dataset (folder with sites.csv + links.csv, or .xlsx)")
    v.add_argument("data", metavar="DATA")
    v.add_argument("--json", action="store_true", help="print one JSON document")
    v.set_defaults(func=cmd_validate)

    t = sub.add_parser("template", help="write empty and example templates (CSV and XLSX)")
    t.add_argument("out", metavar="OUT", type=Path)
    t.set_defaults(func=cmd_template)

    g = sub.add_parser("generate", help="write a synthetic network of about N sites")
    g.add_argument("--sites", type=int, required=True, metavar="N")
    g.add_argument("--seed", type=int, default=0, metavar="S")
    g.add_argument("out", metavar="OUT", type=Path)
    g.set_defaults(func=cmd_generate)

    e = sub.add_parser("exposure", help="single-point-of-failure exposure of every site")
    e.add_argument("data", metavar="DATA")
    e.add_argument("--json", action="store_true")
    e.add_argument("--top", type=int, default=30, help="rows in the table (default 30)")
    e.set_defaults(func=cmd_exposure)

    m = sub.add_parser("simulate", help="a what-if disruption over time (daily)")
    m.add_argument("data", metavar="DATA")
    _disruption_options(m, required=True)
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_simulate)

    tt = sub.add_parser("tts", help="time to survive against time to recover, for every site")
    tt.add_argument("data", metavar="DATA")
    tt.add_argument("--json", action="store_true")
    tt.add_argument("--top", type=int, default=30)
    tt.set_defaults(func=cmd_tts)

    rg = sub.add_parser("regionalize", help="self-sufficiency, mitigation options and a budgeted portfolio")
    rg.add_argument("data", metavar="DATA")
    rg.add_argument("--candidates", metavar="FILE", help="candidate new sites (CSV, folder or .xlsx)")
    rg.add_argument("--budget", type=float, metavar="AMOUNT")
    rg.add_argument("--json", action="store_true")
    rg.set_defaults(func=cmd_regionalize)

    mc = sub.add_parser("montecarlo", help="probabilistic risk: simulated years of site, country and hazard events")
    mc.add_argument("data", metavar="DATA")
    mc.add_argument("--years", required=True, metavar="N", help="number of simulated years")
    mc.add_argument("--seed", default="0", metavar="S", help="seed of the random events (default 0; recorded)")
    mc.add_argument("--scheduler", metavar="ADDRESS", help="run the years on this Dask scheduler (tcp://HOST:PORT)")
    mc.add_argument("--contributions", choices=["marginal", "standalone"], default="standalone",
                    help="site contributions: the loss of its events each alone (standalone, default) or the loss "
                         "removed without the site's events (marginal: exact interactions, slow on large networks)")
    mc.add_argument("--no-contributions", action="store_true", help="skip the site contributions (faster)")
    mc.add_argument("--json", action="store_true")
    mc.add_argument("--top", type=int, default=15, help="rows per table in the text summary (default 15)")
    mc.set_defaults(func=cmd_montecarlo)

    rp = sub.add_parser("report", help="the overview or a what-if scenario as an HTML, PDF or Excel report")
    rp.add_argument("data", metavar="DATA")
    rp.add_argument("--kind", choices=["overview", "what-if"],
                    help="what the report is about (default: what-if with --disrupt, else overview)")
    _disruption_options(rp, required=False)
    rp.add_argument("--format", choices=["html", "pdf", "xlsx"], help="default: from the --out file's extension")
    rp.add_argument("--out", type=Path, required=True, metavar="FILE")
    rp.set_defaults(func=cmd_report)

    u = sub.add_parser("user", help="user accounts of the dashboard (viewer, analyst, admin)")
    usub = u.add_subparsers(dest="user_command", required=True, parser_class=_Parser)
    ua = usub.add_parser("add", help="add a user; the password is read from a prompt or one line of stdin")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=["viewer", "analyst", "admin"])
    ul = usub.add_parser("list", help="list users")
    ul.add_argument("--json", action="store_true")
    ur = usub.add_parser("remove", help="remove a user")
    ur.add_argument("name")
    us = usub.add_parser("signout", help="end every open session of a user (all browsers, copied cookies too)")
    us.add_argument("name")
    u.set_defaults(func=cmd_user)

    s = sub.add_parser("serve", help="the dashboard")
    s.add_argument("--data", default=None, metavar="DATA",
                   help="dataset to show, stored as a version and made active (default: the active version of the "
                        "database, or the sample data on a new database)")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; any other needs user accounts)")
    s.add_argument("--port", type=int, default=8050)
    s.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (gunicorn; default 1)")
    s.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
