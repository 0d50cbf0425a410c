"""Numbers read from people: the one parser every option, ``MOCK_*`` variable, config-file
member, admin field and ``Prefer`` value goes through.

``finite_float`` and ``whole_number`` take a string (as typed) or a number (as YAML or
JSON parsed it), refuse NaN, infinities, booleans and values out of range, and raise
``NumberError`` with a message that says what is wanted but not where the value came from:
each caller prefixes the name the user wrote (``--speed``, ``MOCK_SPEED``, ``file.yaml:
speed``, ``Prefer: task-duration=…``). The argparse types below wrap them.

    finite_float("2.5", minimum=0)   # 2.5
    finite_float("nan")              # NumberError: must be a finite number, got nan
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class NumberError(ValueError):
    """Not an acceptable number; the message says why, without naming the value's source."""


def _shown(value: Any) -> str:
    """The value as the user wrote it, cut short (a 400-digit integer is still one line)."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _bounds(minimum: float | None, maximum: float | None, above: float | None) -> str:
    if above is not None:
        return (
            f"greater than {_number(above)}"
            if maximum is None
            else f"greater than {_number(above)} and at most {_number(maximum)}"
        )
    if minimum is not None and maximum is not None:
        return f"from {_number(minimum)} to {_number(maximum)}"
    if minimum is not None:
        return f"{_number(minimum)} or more"
    assert maximum is not None  # _check_range calls this only with a bound set, and the others are None
    return f"at most {_number(maximum)}"


def _check_range(
    value: float, shown: str, kind: str, minimum: float | None, maximum: float | None, above: float | None
) -> None:
    too_low = (minimum is not None and value < minimum) or (above is not None and value <= above)
    too_high = maximum is not None and value > maximum
    if too_low or too_high:
        raise NumberError(f"must be {kind}{_bounds(minimum, maximum, above)}, got {shown}")


def finite_float(
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    text: bool = True,
) -> float:
    """``value`` as a finite float within the bounds (``above`` is exclusive), or ``NumberError``.

    ``text=False``: only a number will do (a JSON or YAML member), not a string of one.
    """
    shown = _shown(value)
    if isinstance(value, str) and text:
        try:
            number = float(value.strip())
        except ValueError:
            raise NumberError(f"must be a number, got {shown!r}") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float
            raise NumberError(f"must be a finite number, got {shown}") from None
    else:
        raise NumberError(f"must be a number, got {value!r}")
    if not math.isfinite(number):
        raise NumberError(f"must be a finite number, got {shown}")
    _check_range(number, shown, "", minimum, maximum, above)
    return number


def whole_number(value: Any, *, minimum: int | None = None, maximum: int | None = None, text: bool = True) -> int:
    """``value`` as an int within the bounds, or ``NumberError`` (``2.5``, ``nan``, ``"x"``, ``true``).

    ``text=False``: only a number will do (a JSON or YAML member), not a string of one.
    """
    shown = _shown(value)
    if isinstance(value, str) and text:
        stripped = value.strip()
        # int() also reads non-ASCII digits ("٣", "²" fails): only ASCII is a whole number here.
        if not stripped.isascii():
            raise NumberError(f"must be a whole number, got {shown!r}")
        try:
            number = int(stripped)
        except ValueError:
            raise NumberError(f"must be a whole number, got {shown!r}") from None
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise NumberError(f"must be a whole number, got {value!r}")
    _check_range(number, shown, "a whole number ", minimum, maximum, None)
    return number


def argument_type(parse: Callable[[str], T], name: str) -> Callable[[str], T]:
    """An argparse ``type=`` from a parser that raises ``ValueError`` with a reason.

    argparse prints ``argument --speed: must be a finite number, got nan``.
    """

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = name
    return convert


positive_float = argument_type(lambda text: finite_float(text, above=0), "positive_float")
non_negative_float = argument_type(lambda text: finite_float(text, minimum=0), "non_negative_float")
non_negative_int = argument_type(lambda text: whole_number(text, minimum=0), "non_negative_int")
positive_int = argument_type(lambda text: whole_number(text, minimum=1), "positive_int")
