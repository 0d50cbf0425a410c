"""``nanobanana-mock gauntlet``: run a client command once per adverse scenario and report
how it behaved.

``add_parser(subparsers)`` registers the subcommand; ``run_command(args)`` runs it.

Exit status: 0 when the run completed (flags or not, without ``--strict``), 1 with
``--strict`` when any scenario raised a flag, 2 for bad options or a command that cannot
be started.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..argtypes import positive_float
from .scenarios import SCENARIOS, select

if TYPE_CHECKING:
    from .runner import ScenarioResult

EXIT_FLAGGED = 1
EXIT_USAGE = 2
# The top command's parser class (cli._Parser): the subcommand's parser is one of it.
_ParserT = TypeVar("_ParserT", bound=argparse.ArgumentParser)


def _guide() -> str:
    """Where the full guide is: shipped in the wheel as mock_server/docs, in a checkout as docs/."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "docs" / "gauntlet.md", package.parent / "docs" / "gauntlet.md"):
        if candidate.is_file():
            return str(candidate)
    return "docs/gauntlet.md in the source distribution"


def add_parser(subparsers: argparse._SubParsersAction[_ParserT]) -> _ParserT:
    """Register ``gauntlet`` on the ``nanobanana-mock`` command."""
    parser = subparsers.add_parser(
        "gauntlet",
        help="run a client command against every failure scenario and grade how it behaved",
        description=(
            "Run COMMAND once per scenario, each time against a fresh mock on 127.0.0.1 whose URL is in "
            "the variable named by --base-url-env, and report from the mock's journals what the client did. "
            f"Every scenario, flag and report member: {_guide()}"
        ),
        usage="%(prog)s --base-url-env VAR [options] -- COMMAND [ARG ...]",
    )
    parser.add_argument("--base-url-env", metavar="VAR", help="variable that carries the mock's base URL to COMMAND")
    parser.add_argument("--api-key-env", metavar="VAR", help="variable that carries an API key to COMMAND")
    parser.add_argument("--api-key", metavar="KEY", default="sk-gauntlet", help="the key (default sk-gauntlet)")
    parser.add_argument(
        "--callback-url-env",
        metavar="VAR",
        help="variable that carries a callback receiver's URL to COMMAND (enables the callback scenarios)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when any scenario raises a flag")
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write the report as JSON to PATH")
    parser.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="run only this scenario (repeatable; globs such as 'failed_*' work; default: all)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=20.0,
        metavar="SECONDS",
        help="longest a scenario may run before COMMAND is killed (default 20)",
    )
    parser.add_argument(
        "--task-duration",
        type=positive_float,
        default=2.0,
        metavar="SECONDS",
        help="seconds a task takes from create to finish (default 2)",
    )
    parser.add_argument(
        "--min-poll-interval",
        type=positive_float,
        default=1.0,
        metavar="SECONDS",
        help="polling faster than this (median) is flagged (default 1)",
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("client", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="the client to run")
    return parser


def _progress(total: int) -> Callable[[int, ScenarioResult, float], None]:
    def report(index: int, result: ScenarioResult, seconds: float) -> None:
        behaviour = result.behaviour
        if behaviour is None:
            outcome = f"skipped ({result.skipped})"
        else:
            ending = "killed" if behaviour.timed_out else f"exit {behaviour.exit_code}"
            flags = ", ".join(flag.code for flag in behaviour.flags) or "no flags"
            outcome = f"{ending}, {flags}"
        print(f"[{index + 1}/{total}] {result.scenario.name}: {outcome} ({seconds:.1f} s)", file=sys.stderr, flush=True)

    return report


def run_command(args: argparse.Namespace) -> int:
    if args.list:
        for scenario in SCENARIOS:
            print(f"{scenario.name:38} {scenario.title}")
        return 0
    command = list(args.client)
    if command[:1] == ["--"]:
        command = command[1:]
    if not args.base_url_env or not command:
        print("nanobanana-mock gauntlet: needs --base-url-env VAR and -- COMMAND", file=sys.stderr)
        return EXIT_USAGE
    try:
        scenarios = select(args.scenario)
    except ValueError as error:
        print(f"nanobanana-mock gauntlet: {error}", file=sys.stderr)
        return EXIT_USAGE
    # Imported here: they load the app and uvicorn, which the other subcommands need not pay for.
    from .report import render_table, to_json
    from .runner import CommandError, GauntletOptions, Interrupted, run_gauntlet

    logging.getLogger("httpx").setLevel(logging.WARNING)  # the gauntlet's own admin calls are no news
    options = GauntletOptions(
        command=command,
        base_url_env=args.base_url_env,
        api_key_env=args.api_key_env,
        api_key=args.api_key,
        callback_url_env=args.callback_url_env,
        timeout=args.timeout,
        task_duration=args.task_duration,
        min_poll_interval=args.min_poll_interval,
    )
    try:
        results = run_gauntlet(scenarios, options, on_result=_progress(len(scenarios)))
    except CommandError as error:
        print(f"nanobanana-mock gauntlet: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Interrupted as stop:
        print(f"nanobanana-mock gauntlet: stopped by {stop}; the client's process group was ended", file=sys.stderr)
        return 128 + stop.signum
    flagged = any(result.behaviour and result.behaviour.flags for result in results)
    exit_code = EXIT_FLAGGED if args.strict and flagged else 0
    print(render_table(results))
    if args.json is not None:
        document = to_json(results, options, strict=args.strict, exit_code=exit_code)
        try:
            args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        except OSError as error:
            print(f"nanobanana-mock gauntlet: cannot write {args.json}: {error.strerror}", file=sys.stderr)
            return EXIT_USAGE
    return exit_code
