"""schemathesis hooks for ``tests/test_fuzz.py`` (loaded with ``SCHEMATHESIS_HOOKS``): a positive
body keeps only a pixel ``size`` its model accepts. The schema states the form (``WxH``) but not
the rules on the pair (a total, an aspect, a multiple), which the mock checks in code, as the
contract suite's positive data does (``contract_tests._schema.fit_pixel_size``)."""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis import Case, HookContext

from contract_tests._schema import fit_pixel_size, is_positive


@schemathesis.hook("map_case")
def fit_positive_pixel_sizes(context: HookContext, case: Case[Any]) -> Case[Any]:
    if is_positive(case) and isinstance(case.body, dict):
        case.body = fit_pixel_size(case.body)
    return case
