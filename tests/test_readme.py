"""Every example in README.md runs as written (the README is read when the tests run, so
examples added later are run too).

- ``python`` blocks run with pytest in a temporary folder, with the plugin loaded from its
  installed entry point but imported from this checkout (a block without tests runs as a
  script);
- ``yaml`` blocks are ``--config`` files: each loads;
- ``sh`` blocks run line by line against a real ``serve --port 0`` started from the block's
  own ``... serve ... &`` line (stopped by its pid), ``127.0.0.1:8000`` and the task ids the
  README shows replaced by the real ones; where the README shows an answer (``# {...}``
  comment lines after a command) the answer must match it (``...`` stands for anything, each
  number for any number; answers shown one after another, "and two seconds later", are
  states the command reaches in that order, so it is repeated until it shows the last one).

A block preceded by ``<!-- not-run: reason -->`` is not run; keep those few.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from mock_server.config import load_config
from tests.support.servers import launch, stop

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_BASE = "http://127.0.0.1:8000"
TASK_ID = re.compile(r"task-unified-\d+-[a-z0-9]+")
# A result link's file name: the task id, the image's index and its unguessable token.
LINK = re.compile(r"task-unified-\d+-[a-z0-9]+_\d+-[0-9a-f]{32}\.png")
SERVE = re.compile(r"^(?:python3 -m mock_server|nanobanana-mock) (?P<command>serve|proxy)(?P<args>.*?)\s*&\s*(?:#.*)?$")
DEFAULT_PORTS = {"serve": "8000", "proxy": "8080"}
NOT_RUN = re.compile(r"<!--\s*not-run:\s*(?P<reason>.+?)\s*-->")
REPEAT_FOR = 20.0  # seconds a command showing a progression may take to reach its last state


@dataclass
class Block:
    language: str
    line: int
    text: str
    not_run: str | None

    @property
    def name(self) -> str:
        return f"README.md:{self.line}:{self.language}"


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a markdown text, each with the not-run reason just before it."""
    found: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        fence = re.match(r"^(`{3,})(\S*)\s*$", lines[index])
        if fence is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence.group(1):
            end += 1
        before = next((line for line in reversed(lines[:index]) if line.strip()), "")
        marker = NOT_RUN.search(before)
        body = "\n".join(lines[index + 1 : end]) + "\n"
        found.append(Block(fence.group(2), index + 1, body, marker.group("reason") if marker else None))
        index = end + 1
    return found


README_BLOCKS = [block for block in blocks(README.read_text(encoding="utf-8")) if block.language]


def of(language: str) -> list[pytest.param]:  # type: ignore[valid-type]
    chosen = []
    for block in README_BLOCKS:
        if block.language == language:
            marks = [pytest.mark.skip(reason=f"not-run: {block.not_run}")] if block.not_run else []
            chosen.append(pytest.param(block, id=block.name, marks=marks))
    return chosen


def test_readme__every_fenced_example_has_a_runner() -> None:
    runnable = {"python", "yaml", "sh"}
    unknown = [block.name for block in README_BLOCKS if block.language not in runnable and not block.not_run]
    assert unknown == [], "add a runner here, or a <!-- not-run: reason --> before the block"


def test_blocks__reads_fences_languages_and_not_run_markers() -> None:
    text = "x\n<!-- not-run: needs a real key -->\n\n```sh\nls\n```\n\n````python\nprint()\n````\n```\nplain\n```\n"
    found = blocks(text)
    assert [(b.language, b.line, b.text, b.not_run) for b in found] == [
        ("sh", 4, "ls\n", "needs a real key"),
        ("python", 8, "print()\n", None),
        ("", 11, "plain\n", None),
    ]


# --- python ---------------------------------------------------------------------------------------


def checkout_env() -> dict[str, str]:
    """The environment of a child that imports ``mock_server`` from this checkout first."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "MOCK_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


PLUGIN_SOURCE_CHECK = f"""
from pathlib import Path

import mock_server.pytest_plugin


def test_the_plugin_comes_from_the_checkout():
    assert Path(mock_server.pytest_plugin.__file__).resolve().is_relative_to({str(ROOT)!r})
"""


@pytest.mark.parametrize("block", of("python"))
def test_python_block__runs(block: Block, tmp_path: Path) -> None:
    plugins = [entry for entry in importlib.metadata.entry_points(group="pytest11") if entry.name == "nanobanana_mock"]
    assert plugins, "the pytest plugin's entry point is not installed: python3 -m pip install '.[test]'"
    example = tmp_path / "test_readme_example.py"
    example.write_text(block.text, encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", str(example)]
    done = subprocess.run(command, cwd=tmp_path, env=checkout_env(), capture_output=True, text=True, timeout=120)
    if done.returncode == 5:  # no tests in it: an example script
        command = [sys.executable, str(example)]
        done = subprocess.run(command, cwd=tmp_path, env=checkout_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{block.name} failed:\n{done.stdout}\n{done.stderr}"
    if "def test_" in block.text:
        (tmp_path / "test_plugin_source.py").write_text(PLUGIN_SOURCE_CHECK, encoding="utf-8")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_plugin_source.py"]
        done = subprocess.run(command, cwd=tmp_path, env=checkout_env(), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"the plugin was not loaded from {ROOT}:\n{done.stdout}"


# --- yaml -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", of("yaml"))
def test_yaml_block__is_a_config_that_loads(block: Block, tmp_path: Path) -> None:
    path = tmp_path / "mock.yaml"
    path.write_text(block.text, encoding="utf-8")
    load_config(path)


# --- sh -------------------------------------------------------------------------------------------


@dataclass
class Command:
    line: str
    shown: list[str]
    """The answers the README shows after the command, in the order the command reaches them."""


def commands(text: str) -> list[Command]:
    """Commands (continuation lines joined) and the answers shown in ``# {`` comments after each."""
    found: list[Command] = []
    pending = ""
    comment: list[str] = []
    for raw in text.splitlines():
        if pending:
            pending += "\n" + raw
        elif raw.startswith("#"):
            if found:
                comment.append(raw[1:].strip())
            continue
        elif raw.strip():
            if found:
                found[-1].shown = shown_answers(comment)
            comment = []
            pending = raw
        if pending and not pending.endswith("\\"):
            found.append(Command(pending, []))
            pending = ""
    if found:
        found[-1].shown = shown_answers(comment)
    return found


def shown_answers(comment: list[str]) -> list[str]:
    """The JSON answers in comment lines: each starts with ``{`` on its own line and ends where
    its braces balance (what follows on that line is prose)."""
    answers: list[str] = []
    current, depth = "", 0
    for line in comment:
        if not current and not line.startswith("{"):
            continue
        for char in line:
            current += char
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth == 0:
                answers.append(current)
                current = ""
                break
    return answers


def pattern(shown: str) -> re.Pattern[str]:
    """A shown answer as a pattern: ``...`` matches anything, a result link any result link, a
    task id any task id, a number any number."""
    parts = re.split(rf"(\.\.\.|{LINK.pattern}|{TASK_ID.pattern}|\d+(?:\.\d+)?)", shown)
    regex = ""
    for part in parts:
        if part == "...":
            regex += ".*?"
        elif LINK.fullmatch(part):
            regex += LINK.pattern
        elif TASK_ID.fullmatch(part):
            regex += TASK_ID.pattern
        elif re.fullmatch(r"\d+(?:\.\d+)?", part):
            regex += r"\d+(?:\.\d+)?"
        else:
            regex += re.escape(part)
    return re.compile(regex, re.S)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


class Tour:
    """Runs one sh block: its ``serve ... &`` line as a managed process, the rest with bash."""

    def __init__(self, block: Block, folder: Path) -> None:
        self.block = block
        self.folder = folder
        self.base = ""
        self.bases: dict[str, str] = {}  # base URL shown in the README (by its port) -> the real one
        self.ids: dict[str, str] = {}  # task id (or result link) shown in the README -> the real one
        self.processes: list[subprocess.Popen[str]] = []

    def rewrite(self, line: str) -> str:
        for shown_base, real_base in self.bases.items():
            line = line.replace(shown_base, real_base)
        for shown in sorted(self.ids, key=len, reverse=True):  # a link before the task id it holds
            line = line.replace(shown, self.ids[shown])
        line = re.sub(r"(?m)^nanobanana-mock\b", f"{shlex.quote(sys.executable)} -m mock_server", line)
        return re.sub(r"(?m)^python3\b", shlex.quote(sys.executable), line)

    def run(self) -> None:
        for command in commands(self.block.text):
            serve = SERVE.match(command.line)
            if serve is not None:
                self.launch(serve.group("command"), shlex.split(self.rewrite(serve.group("args")), comments=True))
                continue
            self.check(command)

    def launch(self, command: str, args: list[str]) -> None:
        """A ``serve`` or ``proxy`` line: started on a free port (its ``--port`` says which base URL
        of the README it stands for), in the block's folder."""
        port = DEFAULT_PORTS[command]
        if "--port" in args:
            at = args.index("--port")
            port = args[at + 1]
            del args[at : at + 2]
        process, url = launch(command, *args, cwd=self.folder, env=checkout_env())
        self.processes.append(process)
        self.bases[f"http://127.0.0.1:{port}"] = url
        self.base = self.base or url

    def once(self, line: str) -> str:
        done = subprocess.run(
            ["bash", "-c", line], cwd=self.folder, env=checkout_env(), capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"{self.block.name}: {line!r} exited {done.returncode}: {done.stderr}"
        return done.stdout.strip()

    def check(self, command: Command) -> None:
        line = self.rewrite(command.line)
        assert self.base or README_BASE not in command.line, f"{self.block.name}: no serve line starts the mock"
        if not command.shown:
            output = self.once(line)
            self.check_unshown(command.line, output)
            return
        patterns = [pattern(shown) for shown in command.shown]
        deadline = time.monotonic() + REPEAT_FOR
        seen: list[str] = []
        while True:
            output = self.once(line)
            seen.append(output)
            if patterns[-1].fullmatch(output):
                break
            matched = any(p.fullmatch(output) for p in patterns[:-1])
            if time.monotonic() > deadline or (len(patterns) == 1 and not matched):
                pytest.fail(f"{self.block.name}: {line!r} answered {output!r}, the README shows {command.shown}")
            time.sleep(0.1)
        for found in (LINK, TASK_ID):
            for shown_id, real_id in zip(found.findall(command.shown[-1]), found.findall(output), strict=False):
                self.ids.setdefault(shown_id, real_id)

    def check_unshown(self, original: str, output: str) -> None:
        """No answer shown: a JSON answer must not be an error; a PNG saved must have the size said."""
        if output.startswith("{"):
            assert "error" not in json.loads(output), f"{self.block.name}: {original!r} answered {output}"
        size = re.search(r"-o (\S+) .*# a (\d+)x(\d+) PNG", original)
        if size is not None:
            assert png_size(self.folder / size.group(1)) == (int(size.group(2)), int(size.group(3)))

    def close(self) -> None:
        for process in self.processes:
            stop(process)


@pytest.mark.slow
@pytest.mark.parametrize("block", of("sh"))
def test_sh_block__runs_against_a_real_server(block: Block, tmp_path: Path) -> None:
    tour = Tour(block, tmp_path)
    try:
        tour.run()
    finally:
        tour.close()


def test_commands__splits_lines_and_reads_shown_answers() -> None:
    text = (
        "python3 -m mock_server serve &   # comment\n\n"
        "curl -s a \\\n  -d '{}'\n"
        '# {"a":1,\n#  "b":"x"}\n'
        "curl b\n"
        '# {"s":"p",...}   and later:\n# {"s":"c"}\n'
        "curl c   # a 2x2 PNG\n"
    )
    found = commands(text)
    assert [c.line for c in found] == [
        "python3 -m mock_server serve &   # comment",
        "curl -s a \\\n  -d '{}'",
        "curl b",
        "curl c   # a 2x2 PNG",
    ]
    assert [c.shown for c in found] == [[], ['{"a":1,"b":"x"}'], ['{"s":"p",...}', '{"s":"c"}'], []]


def test_pattern__dots_ids_and_numbers_match_anything_of_their_kind() -> None:
    shown = pattern('{"created":...,"id":"task-unified-1-abc","progress":43,"status":"processing",...}')
    seen = '{"created":5,"model":"m","id":"task-unified-9-zz9","progress":7,"status":"processing","type":"i"}'
    assert shown.fullmatch(seen)
    assert not shown.fullmatch('{"created":5,"id":"task-unified-9-zz9","progress":7,"status":"pending"}')
