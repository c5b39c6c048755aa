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


def cmd_simulate(args) -> int:
    from riskmodel.disruption import DisruptionError, disruptions_from_specs
    from riskmodel.simulate import format_simulation, simulate_json

    try:
        disruptions = disruptions_from_specs(args.disrupt, args.weeks, args.severity, args.start_day, args.recovery)
    except (DisruptionError, ValueError) as exc:
        print(f"riskmodel simulate: {exc}", file=sys.stderr)
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


def cmd_user(args) -> int:
    import getpass

    from riskmodel.store import StoreError
    from riskmodel.users import ROLES, UserError, add_user, list_users, read_password, remove_user

    actor = f"cli:{getpass.getuser()}"
    try:
        if args.user_command == "add":
            password = read_password(sys.stdin, f"Password for {args.name}: ", confirm=True)
            user = add_user(args.name, args.role, password, by=actor)
            print(f"added {user.name} ({user.role})", file=sys.stderr)
        elif args.user_command == "remove":
            remove_user(args.name, by=actor)
            print(f"removed {args.name}", file=sys.stderr)
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


def cmd_serve(args) -> int:
    from riskmodel.validate import validate_dataset

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("riskmodel serve: serving on an address other than loopback needs user accounts, which are not "
              "available yet (issue: users and roles); use --host 127.0.0.1", file=sys.stderr)
        return EXIT_USAGE
    report = validate_dataset(args.data)
    if not report.valid:
        _print_issues(report.errors, sys.stderr)
        return EXIT_DATA
    from dashboard.app import create_app

    app = create_app(report, Path(args.data).name)
    print(f"riskmodel dashboard on http://{args.host}:{args.port}/ (data: {args.data})", file=sys.stderr)
    app.run(host=args.host, port=args.port, debug=False)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from riskmodel.paths import DATA_DIR

    sample = str(DATA_DIR / "sample")
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
    m.add_argument("--disrupt", action="append", required=True, metavar="SPEC",
                   help="site:ID, operator:NAME, country:CODE, region:NAME, circle:LAT,LON,KM or polygon:FILE")
    m.add_argument("--weeks", type=float, required=True, help="duration of the disruption in weeks")
    m.add_argument("--severity", type=float, default=1.0, help="capacity lost, 0-1 (default 1)")
    m.add_argument("--start-day", type=int, default=0)
    m.add_argument("--recovery", choices=["step", "linear"], default="step")
    m.add_argument("--horizon-weeks", type=float, default=52.0)
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

    u = sub.add_parser("user", help="user accounts of the dashboard (viewer, analyst, admin)")
    usub = u.add_subparsers(dest="user_command", required=True, parser_class=_Parser)
    ua = usub.add_parser("add", help="add a user; the password is read from a prompt or one line of stdin")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=["viewer", "analyst", "admin"])
    ul = usub.add_parser("list", help="list users")
    ul.add_argument("--json", action="store_true")
    ur = usub.add_parser("remove", help="remove a user")
    ur.add_argument("name")
    u.set_defaults(func=cmd_user)

    s = sub.add_parser("serve", help="the dashboard")
    s.add_argument("--data", default=sample, metavar="DATA", help="dataset (default: the sample data)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8050)
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
