"""``nanobanana-mock contract``: run the suite against a live target and report what drifted.

``add_parser(subparsers)`` registers the subcommand (it imports nothing heavy, so the
``nanobanana-mock`` command starts as fast without the ``contract`` extra installed);
``run_command(args)`` runs it; ``run(options)`` is the same from Python.

Exit status: 0 when nothing was violated (skipped tests included), 1 when a violation was
found, 2 for bad options or a target that cannot be reached (checked with one request
before the run, see ``_probe``), and pytest's own codes (3 internal error, 4 usage, 5
nothing collected) otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from typing import TypeVar

from mock_server.argtypes import non_negative_int, positive_float

from ._options import DEFAULT_CALLBACK_LISTEN, JUNIT_FILE, PROFILE_NAMES, OptionsPlugin, RunOptions

PACKAGE_DIR = Path(__file__).resolve().parent
# The top command's parser class (cli._Parser): the subcommand's parser is one of it.
_ParserT = TypeVar("_ParserT", bound=argparse.ArgumentParser)


def add_parser(subparsers: argparse._SubParsersAction[_ParserT]) -> _ParserT:
    """Register ``contract`` on the ``nanobanana-mock`` command."""
    parser = subparsers.add_parser(
        "contract",
        help="check a live target (the real API by default) against the contract; exit 1 on a violation",
        description=(
            "Run the contract suite against a live target over HTTP(S). Without --base-url it checks the "
            "real API at https://api.evolink.ai with EVOLINK_API_KEY (and skips, saying why, without a key). "
            "Off loopback it creates at most --max-paid-tasks tasks and sends at most --max-rate requests a second."
        ),
    )
    parser.add_argument("--base-url", metavar="URL", help="the target (default: the real API)")
    parser.add_argument("--api-key", metavar="KEY", help="Bearer key (default: $EVOLINK_API_KEY)")
    parser.add_argument(
        "--other-api-key",
        metavar="KEY",
        help="a second key, to check that tasks are invisible to other keys (default: $EVOLINK_OTHER_API_KEY)",
    )
    parser.add_argument("--report", metavar="DIR", type=Path, help="write contract-report.md and junit.xml here")
    parser.add_argument(
        "--max-paid-tasks",
        metavar="N",
        type=non_negative_int,
        help="most tasks the run may create; every 2xx answer to a create counts (default 2 off loopback, "
        "no limit on loopback)",
    )
    parser.add_argument(
        "--max-minutes", metavar="M", type=positive_float, help="stop sending requests after M minutes (default 15)"
    )
    parser.add_argument(
        "--max-rate",
        metavar="R",
        type=positive_float,
        help="most requests per second, retries included (default 2 off loopback, no limit on loopback)",
    )
    parser.add_argument("--ca-file", metavar="PEM", help="trust this CA bundle for HTTPS (e.g. a test CA)")
    parser.add_argument(
        "--profile",
        choices=PROFILE_NAMES,
        help="how many cases to generate on loopback (default: default); off loopback the small live profile "
        "always applies",
    )
    parser.add_argument("--seed", type=int, help="seed of every generator, to replay a run (default 1)")
    parser.add_argument(
        "--exclude-checks", metavar="NAMES", default="", help="comma-separated checks to turn off (e.g. ignored_auth)"
    )
    parser.add_argument(
        "--accepts-any-key",
        action="store_true",
        help="the target treats every well-formed key as valid (the mock does by default): skip made-up-key probes",
    )
    parser.add_argument(
        "--list-facts",
        action="store_true",
        help="print every documented fact the suite checks, with its source, and exit",
    )
    parser.add_argument(
        "--callbacks",
        action="store_true",
        help="also check the target's callbacks: tasks call the suite's own receiver, which fails on purpose",
    )
    parser.add_argument(
        "--callback-listen",
        metavar="HOST:PORT",
        default=DEFAULT_CALLBACK_LISTEN,
        help=f"where the callback receiver listens (default {DEFAULT_CALLBACK_LISTEN}: a free loopback port)",
    )
    parser.add_argument(
        "--callback-public-url",
        metavar="URL",
        help="the URL the target calls to reach the receiver (e.g. an https tunnel to --callback-listen)",
    )
    parser.add_argument(
        "--compare-with-mock",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the edge probes against the mock in-process too and list where they disagree "
        "(default: only against the real API)",
    )
    parser.add_argument(
        "--models",
        metavar="NAME[,NAME]",
        help="probe only these models' own facts (names or aliases; default every documented model; "
        "also $NANOBANANA_CONTRACT_MODELS)",
    )
    parser.add_argument("-k", dest="keyword", metavar="EXPR", help="only tests matching EXPR (pytest -k)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every test as it runs")
    return parser


def options_from(args: argparse.Namespace) -> RunOptions:
    options = RunOptions(
        base_url=args.base_url,
        api_key=args.api_key,
        other_api_key=args.other_api_key,
        ca_file=args.ca_file,
        max_paid_tasks=args.max_paid_tasks,
        max_minutes=args.max_minutes,
        max_rate=args.max_rate,
        report_dir=args.report,
        profile=args.profile,
        exclude_checks=tuple(name.strip() for name in args.exclude_checks.split(",") if name.strip()),
        accepts_any_key=args.accepts_any_key,
        with_mock=False,
        callbacks=args.callbacks,
        callback_listen=args.callback_listen,
        callback_public_url=args.callback_public_url,
        compare_with_mock=args.compare_with_mock,
        **({"seed": args.seed} if args.seed is not None else {}),
    )
    return options.with_environment()


def _problem(args: argparse.Namespace) -> str | None:
    if args.base_url is not None and not args.base_url.lower().startswith(("http://", "https://")):
        return f"--base-url must be an http(s) URL, not {args.base_url!r}"
    if args.ca_file is not None and not Path(args.ca_file).is_file():
        return f"--ca-file {args.ca_file}: no such file"
    return None


def run(options: RunOptions, *, keyword: str | None = None, verbose: bool = False) -> int:
    """Run the suite with ``options`` in this process; return the exit status.

    A target that cannot be reached returns 2 at once, with one line on stderr."""
    import pytest

    unreachable = _unreachable(options)
    if unreachable is not None:
        print(f"nanobanana-mock contract: {unreachable}", file=sys.stderr)
        return 2

    args = [str(PACKAGE_DIR), "-c", os.devnull, "--rootdir", str(PACKAGE_DIR), "-p", "no:cacheprovider"]
    # Plugins the suite does not use stay out (pytest-benchmark would create ./.benchmarks), and
    # pytest need not say it cannot rewrite asserts in modules the command imported already.
    args += ["-rs", "--tb=short", "-p", "no:anyio", "-p", "no:benchmark"]
    args += ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
    args.append("-v" if verbose else "-q")
    if options.report_dir is not None:
        args += [f"--junitxml={options.report_dir / JUNIT_FILE}", "-o", "junit_suite_name=contract"]
    if keyword:
        args += ["-k", keyword]
    # Hypothesis keeps a cache in ./.hypothesis; a run from any folder must not litter it.
    with tempfile.TemporaryDirectory(prefix="nanobanana-contract-") as storage:
        previous = os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", storage)
        try:
            return int(pytest.main(args, plugins=[OptionsPlugin(options)]))
        finally:
            if previous == storage:
                del os.environ["HYPOTHESIS_STORAGE_DIRECTORY"]


def run_command(args: argparse.Namespace) -> int:
    """The ``contract`` subcommand."""
    from ._catalogue import MODELS_VARIABLE, selected_models

    if args.models is not None:
        os.environ[MODELS_VARIABLE] = args.models
    try:
        selected_models()
    except ValueError as exc:
        print(f"nanobanana-mock contract: {exc}", file=sys.stderr)
        return 2
    if args.list_facts:
        from ._catalogue import render_list

        print(render_list())
        return 0
    problem = _problem(args)
    if problem is not None:
        print(f"nanobanana-mock contract: {problem}", file=sys.stderr)
        return 2
    missing = [name for name in ("pytest", "hypothesis", "schemathesis") if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"nanobanana-mock contract: {', '.join(missing)} missing: pip install 'nanobanana-mock[contract]'",
            file=sys.stderr,
        )
        return 2
    try:
        options = options_from(args)
    except ValueError as exc:
        print(f"nanobanana-mock contract: {exc}", file=sys.stderr)
        return 2
    if options.base_url is not None and not options.api_key:
        print(
            "nanobanana-mock contract: --base-url needs a key: pass --api-key or set EVOLINK_API_KEY", file=sys.stderr
        )
        return 2
    return run(options, keyword=args.keyword, verbose=args.verbose)


def _unreachable(options: RunOptions) -> str | None:
    """Why the run's target cannot be reached, if it cannot (one line, before any test starts)."""
    from evolink_spec import facts

    from ._probe import probe

    if not options.api_key:
        return None  # the real API without a key: skipped, saying why
    return probe(options.base_url or facts().server_url, ca_file=options.ca_file).problem
