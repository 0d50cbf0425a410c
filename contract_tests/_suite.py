"""One run of the suite: its targets, their clients, schemas and findings.

The pytest plugin makes the ``Suite`` when pytest starts (``start()``), before the test
modules are imported, because schemathesis builds its tests from the schemas at import.
"""

from __future__ import annotations

import json
from typing import Any

from schemathesis import BaseSchema, Case, GenerationMode, Response
from schemathesis.core.failures import FailureGroup

from . import _binding
from ._curl import curl_line
from ._failures import BudgetExhausted
from ._options import RunOptions
from ._progress import Progress
from ._report import Recorder, describe_answer
from ._schema import build_schema
from ._target import Client, Target
from ._targets import targets_for
from ._transport import may_create_task

MODES = (GenerationMode.NEGATIVE, GenerationMode.POSITIVE)


class Suite:
    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.targets = targets_for(options)
        self.recorder = Recorder()
        self.clients: dict[str, Client] = {}
        self._schemas: dict[str, BaseSchema] | None = None
        self._replies: dict[tuple[Any, ...], Response] = {}
        self.nodeids: set[str] = set()
        """The suite's own tests in this pytest session (others may run beside them)."""
        self.progress = Progress()
        """Progress lines of live targets (the plugin gives it pytest's terminal as its sink)."""
        self.phases: dict[str, int] = {}
        """The phase last announced per live target."""

    def active(self) -> list[Target]:
        """The targets the run sends requests to: not skipped, and reached by the probe."""
        return [target for target in self.targets if target.skip_reason is None and target.unreachable is None]

    def target(self, name: str) -> Target:
        return next(target for target in self.targets if target.name == name)

    def client(self, target: Target) -> Client:
        if target.name not in self.clients:
            self.clients[target.name] = target.open()
        return self.clients[target.name]

    def operation_schemas(self) -> dict[str, BaseSchema]:
        """One schema per active target and generation mode, named ``<target>-<mode>``."""
        if self._schemas is None:
            self._schemas = {}
            for target in self.active():
                for mode in MODES:
                    schema = build_schema(target, mode, seed=self.options.seed, exclude=self.options.exclude_checks)
                    _binding.bind(schema, self.client(target))
                    self._schemas[f"{target.name}-{mode.value}"] = schema
        return self._schemas

    def check_case(self, case: Case[Any]) -> None:
        """Send one generated case to its target and run every check on the answer."""
        __tracebackhide__ = True
        client = _binding.client_for(case)
        assert client is not None, "a case of a schema the suite did not build"
        if not client.target.in_process:
            spent = client.budget
            self.progress.tick(
                lambda: f"{client.target.name}: {spent.requests} requests sent, {spent.paid_tasks} tasks created"
            )
        try:
            response = self._send(case, client)
        except BudgetExhausted as exc:
            # Not a skip: hypothesis would drop a failure already found by an earlier case.
            client.note(f"{case.operation.label}: cases not sent ({exc})")
            return
        try:
            case.validate_response(response, transport_kwargs={"session": client.session})
        except FailureGroup as group:
            answer = describe_answer(response.status_code, response.message, response.content)
            for failure in group.exceptions:
                shown = getattr(failure, "request", None) or response.request
                self.recorder.add_failure(client.target, failure, answer, curl_line(shown, client.target))
            raise
        except BudgetExhausted as exc:
            # A built-in check re-sent the request through the session, and the budget said no.
            client.note(f"{case.operation.label}: a check's follow-up request not sent ({exc})")

    def _send(self, case: Case[Any], client: Client) -> Response:
        if client.target.replayable or not may_create_task(case.method, case.path):
            return case.call(session=client.session)
        # Hypothesis runs a failing example once more to report it; a create on a budget is
        # never sent twice: the same case gets the answer it got the first time.
        key = (
            case.method,
            case.formatted_path,
            json.dumps(case.body, sort_keys=True, default=repr),
            json.dumps(dict(case.headers or {}), sort_keys=True, default=repr),
            json.dumps(case.query, sort_keys=True, default=repr),
        )
        if key not in self._replies:
            self._replies[key] = case.call(session=client.session)
        return self._replies[key]

    def close(self) -> None:
        for schema in (self._schemas or {}).values():
            _binding.unbind(schema)
        for client in self.clients.values():
            client.close()


_CURRENT: Suite | None = None


def start(options: RunOptions) -> Suite:
    global _CURRENT
    if _CURRENT is not None:
        _CURRENT.close()
    _CURRENT = Suite(options)
    return _CURRENT


def current() -> Suite:
    """The suite of this pytest run (``start()`` runs in the plugin's ``pytest_configure``)."""
    if _CURRENT is None:
        raise RuntimeError(
            "the contract suite runs under pytest: `pytest contract_tests` or `nanobanana-mock contract`"
        )
    return _CURRENT
