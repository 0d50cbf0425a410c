"""Request bodies: content type, size and JSON checks shared by every route that reads one.

Bodies are strict JSON (RFC 8259): UTF-8, no NaN or Infinity, no lone surrogate escapes. The standard library's
decoder, built once, parses them: it keeps big integers exact and explains refusals.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import InvalidRequest, PayloadTooLarge


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _lone_surrogate(value: Any) -> str | None:
    """The first string (value or member name) holding a lone surrogate, if any. JSON's
    decoder joins escaped pairs, so only lone halves are left: text no UTF-8 can carry."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return item
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def check_content_type(value: str | None) -> None:
    media_type = (value or "").split(";", 1)[0].strip().lower()
    if media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json")):
        return
    raise InvalidRequest(f"Content-Type must be application/json, got {media_type or 'none'}", param="Content-Type")


def check_declared_length(value: str | None, limit: int) -> None:
    if value is not None and value.isdigit() and int(value) > limit:
        raise PayloadTooLarge(f"Request body too large: {value} bytes, at most {limit} allowed")


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body too large: more than {limit} bytes")


def parse_json(raw: bytes) -> Any:
    """The JSON value of a request body, or ``InvalidRequest`` saying why it is not one."""
    if not raw.strip():
        raise InvalidRequest("Request body is required: a JSON object", param="body")
    try:
        value = _DECODER.decode(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidRequest("Request body is not valid UTF-8 JSON", param="body") from None
    except (ValueError, RecursionError) as error:
        raise InvalidRequest(f"Request body is not valid JSON: {error}", param="body") from None
    if _SURROGATE_ESCAPE.search(raw) is not None and _lone_surrogate(value) is not None:
        # Such a string cannot be rendered back (in an answer, a callback or the journal).
        raise InvalidRequest(
            "Request body is not valid Unicode: it escapes half of a surrogate pair (such as \\ud800) alone",
            param="body",
        )
    return value
