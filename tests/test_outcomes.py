"""The mock's failure messages cover exactly the spec's business codes."""

from __future__ import annotations

import pytest

from evolink_spec import BUSINESS_CODES, SpecMismatch
from mock_server.outcomes import CALLER_FIXABLE, FAILURE_CODES, FAILURE_MESSAGES, check_codes, failure_for


def test_failure_codes__are_the_specs_in_its_order() -> None:
    assert FAILURE_CODES == BUSINESS_CODES
    assert list(FAILURE_MESSAGES) == list(BUSINESS_CODES)


def test_check_codes__refuses_a_code_without_a_message() -> None:
    with pytest.raises(SpecMismatch, match="new_code"):
        check_codes((*BUSINESS_CODES, "new_code"))


def test_check_codes__refuses_a_message_for_a_code_the_spec_dropped() -> None:
    with pytest.raises(SpecMismatch, match="unknown_error"):
        check_codes(tuple(code for code in BUSINESS_CODES if code != "unknown_error"))


def test_failure_for__gives_the_codes_message() -> None:
    assert failure_for("content_policy_violation").message == CALLER_FIXABLE["content_policy_violation"]
    with pytest.raises(KeyError):
        failure_for("not_a_code")
