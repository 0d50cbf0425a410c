"""Request validation against the bundle, with openapi-core, done once per operation.

openapi-core loads the bundle (validating it once) and builds one jsonschema validator
per operation's request body, with its OpenAPI 3.1 dialect and format checks. A request
then costs one ``iter_errors`` on its parsed body: calling ``OpenAPI.validate_request``
for each request would redo the path matching and rebuild the validator every time
(measured: ~570 µs a request against ~10-18 µs; see bench/README.md); jsonschema-rs,
compiled from the same resolved schema, answers the common "valid" case in ~0.2 µs. Routing, the Bearer
scheme and the content type are checked by the routes, from the same spec facts.

An operation whose body is a ``oneOf`` keyed by a ``discriminator`` (the create: one schema
per image model, ``ImageFamilyRequest``) gets one validator pair per model, and a body is
checked by its ``model``'s only: the Nano Banana create costs what it did before the family
(a dictionary lookup more), and a refusal names the field of that model's schema rather than
"valid under none of the schemas". A ``model`` the family lacks is refused as an enum is,
listing every name.

Each violation becomes ``InvalidRequest`` with a message and ``param`` naming the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
from jsonschema.exceptions import ValidationError
from openapi_core import Config, OpenAPI
from openapi_core.validation.schemas import oas31_schema_validators_factory
from openapi_core.validation.schemas.validators import SchemaValidator

from evolink_spec import TASK_ID_PREFIX, load_bundle

from .callbacks import HTTPS_ONLY
from .errors import InvalidRequest, InvalidTaskId, Unauthorized

_BEARER = re.compile(r"^\s*[Bb][Ee][Aa][Rr][Ee][Rr] +(\S+)\s*$")

# RFC 3986: a scheme, a colon, then only characters a URI may hold (percent-escapes included).
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}
# Which error to report first when one value breaks several keywords.
_KEYWORD_RANK = {"required": 0, "type": 1, "enum": 2, "const": 2}
_PATTERN_HINTS = {
    "image_urls": "image links must be .jpeg, .jpg, .png or .webp files",
    "callback_url": HTTPS_ONLY,
}


def is_uri(value: object) -> bool:
    """The ``uri`` format: an absolute URI (openapi-core leaves it unchecked without rfc3987)."""
    return not isinstance(value, str) or _URI.match(value) is not None


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _param(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _clip(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def explain(error: ValidationError, extra_values: Mapping[str, Iterable[str]] | None = None) -> InvalidRequest:
    """Turn one jsonschema error into the provider's 400, naming the field. ``extra_values``
    are values a field accepts beyond its enum (``--extra-model``): an enum refusal lists them too."""
    keyword = error.validator
    path = list(error.absolute_path)
    # The stubs allow "unset" for both (an error built by hand); a validator's error has them.
    rule: Any = error.validator_value
    instance: Any = error.instance
    if keyword == "required":
        missing = next((name for name in rule if name not in instance), None)
        field = _param([*path, missing]) if missing else _param(path)
        return InvalidRequest(f"Missing required parameter: '{field}'", param=field)
    if not path:
        if keyword == "type":
            return InvalidRequest(f"Request body must be a JSON object, got {_describe(instance)}", param="body")
        return InvalidRequest(f"Invalid request body: {error.message}", param="body")
    field = _param(path)
    value = instance
    if keyword == "type":
        message = f"Invalid type for '{field}': expected {error.validator_value}, got {_describe(value)}"
    elif keyword == "enum":
        accepted = [str(item) for item in rule]
        accepted += [item for item in (extra_values or {}).get(field, ()) if item not in accepted]
        allowed = ", ".join(accepted)
        message = f"Invalid value for '{field}': {_clip(value)}. Supported values are: {allowed}"
    elif keyword == "maxLength":
        message = f"'{field}' is too long: {len(value)} characters, at most {error.validator_value} allowed"
    elif keyword == "maxItems":
        message = f"'{field}' has too many items: {len(value)}, at most {error.validator_value} allowed"
    elif keyword == "minimum" or keyword == "maximum":
        message = f"Invalid value for '{field}': {_clip(value)} ({keyword} {error.validator_value})"
    elif keyword == "pattern":
        hint = _PATTERN_HINTS.get(str(path[0]), f"must match {error.validator_value}")
        message = f"Invalid value for '{field}': {_clip(value)}: {hint}"
    elif keyword == "format":
        message = f"Invalid value for '{field}': {_clip(value)} is not a valid {error.validator_value}"
    else:
        message = f"Invalid value for '{field}': {error.message}"
    return InvalidRequest(message, param=field)


def _first(errors: Iterable[ValidationError]) -> ValidationError | None:
    ranked = sorted(
        errors,
        key=lambda e: (
            len(e.absolute_path) > 0,
            [str(p) for p in e.absolute_path],
            _KEYWORD_RANK.get(str(e.validator), 9),
        ),
    )
    return ranked[0] if ranked else None


class RequestValidator:
    """Request checks for every operation of the bundle, built once from it."""

    def __init__(self, document: dict[str, Any], *, check_document: bool = True) -> None:
        """``check_document=False`` skips openapi-core's validation of the whole document (most of
        the start-up time, 0.1-0.4 s for the family's bundle): for the shipped bundle, which
        ``tests/evolink_spec/test_bundle.py`` validates."""
        # openapi-core skips the check when spec_validator_cls is None (its stubs say only a class).
        config = None if check_document else Config(spec_validator_cls=None)  # type: ignore[arg-type]
        self.openapi = OpenAPI.from_dict(document, config=config)
        self._bodies: dict[str, _Pair] = {}
        self._by_model: dict[str, dict[str, _Pair]] = {}
        """Per operation keyed by ``model``: each name's pair (aliases share their model's)."""
        self._key: dict[str, str] = {}
        for _, item in (self.openapi.spec / "paths").items():
            for method, operation in item.items():
                if not isinstance(method, str) or method.startswith("x-") or "requestBody" not in operation:
                    continue
                schema = operation / "requestBody" / "content" / "application/json" / "schema"
                operation_id = str(operation["operationId"])
                self._bodies[operation_id] = self._pair(schema)
                with schema.resolve() as resolved:
                    contents = _plain(resolved.contents)
                discriminator = contents.get("discriminator") if "oneOf" in contents else None
                if discriminator is not None:
                    self._key[operation_id] = str(discriminator["propertyName"])
                    pairs: dict[str, _Pair] = {}
                    for name, reference in discriminator["mapping"].items():
                        target = self.openapi.spec
                        for part in str(reference).removeprefix("#/").split("/"):
                            target = target / part
                        pairs[str(name)] = pairs.get(str(reference)) or self._pair(target)
                        pairs.setdefault(str(reference), pairs[str(name)])
                    self._by_model[operation_id] = {
                        name: pair for name, pair in pairs.items() if name in discriminator["mapping"]
                    }

    @classmethod
    def shared(cls, document: dict[str, Any]) -> RequestValidator:
        """The validator of ``document``, built once per document object (validators keep no
        state); the shipped bundle, proven valid by the tests, is not validated again."""
        found = _SHARED.get(id(document))
        if found is None or found[0] is not document:
            found = _SHARED[id(document)] = (document, cls(document, check_document=document is not load_bundle()))
        return found[1]

    def _pair(self, schema: Any) -> _Pair:
        slow = oas31_schema_validators_factory.create(
            self.openapi.spec, schema, extra_format_validators={"uri": is_uri}
        )
        # The same resolved schema, compiled by jsonschema-rs: it only says "valid" faster
        # (~0.2 µs against ~10-18 µs); any other verdict goes to openapi-core's validator,
        # which decides and explains. A test proves the two agree. A schema that still refers
        # into the document (the family's oneOf) carries the document's components with it.
        with schema.resolve() as resolved:
            contents = _plain(resolved.contents)
        if "$ref" in json.dumps(contents):
            with (self.openapi.spec / "components").resolve() as components:
                contents["components"] = _plain(components.contents)
        fast = jsonschema_rs.validator_for(contents, formats={"uri": is_uri}, validate_formats=True)
        return _Pair(fast, slow)

    def model_names(self, operation_id: str) -> tuple[str, ...]:
        """The values of the discriminating field (``model``) the operation documents, or ()."""
        return tuple(self._by_model.get(operation_id, ()))

    def validate_body(
        self, operation_id: str, payload: Any, *, extra_values: Mapping[str, Iterable[str]] | None = None
    ) -> None:
        """Raise ``InvalidRequest`` naming the first offending field, if any; ``extra_values``
        (by field) are accepted beyond the spec's enums, and named when a value is refused."""
        pair = self._bodies[operation_id]
        by_model = self._by_model.get(operation_id)
        if by_model is not None:
            key = self._key[operation_id]
            if not isinstance(payload, dict):
                raise InvalidRequest(f"Request body must be a JSON object, got {_describe(payload)}", param="body")
            sent = payload.get(key)
            found = by_model.get(sent) if isinstance(sent, str) else None
            if found is None:
                raise _unknown_choice(key, sent, [*by_model, *(extra_values or {}).get(key, ())])
            pair = found
        if pair.fast.is_valid(payload):
            return
        validator = pair.slow.validator
        if validator.is_valid(payload):
            return
        error = _first(validator.iter_errors(payload))
        if error is not None:
            raise explain(error, extra_values)


_SHARED: dict[int, tuple[dict[str, Any], RequestValidator]] = {}
"""``RequestValidator.shared``'s validators, by document (the document kept, so its id stays its own)."""


@dataclass(frozen=True, slots=True)
class _Pair:
    """One schema's two validators: jsonschema-rs says "valid" fast, openapi-core decides and explains."""

    fast: Any
    slow: SchemaValidator


def _unknown_choice(field: str, value: Any, accepted: Iterable[str]) -> InvalidRequest:
    """The refusal of a discriminating field (``model``) that is missing, not a string, or unknown."""
    if value is None:
        return InvalidRequest(f"Missing required parameter: '{field}'", param=field)
    if not isinstance(value, str):
        return InvalidRequest(f"Invalid type for '{field}': expected string, got {_describe(value)}", param=field)
    allowed = ", ".join(dict.fromkeys(accepted))
    return InvalidRequest(f"Invalid value for '{field}': {_clip(value)}. Supported values are: {allowed}", param=field)


def _plain(value: Any) -> Any:
    """A resolved schema as plain dicts and lists (what jsonschema-rs reads)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def authorization_of(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The one ``Authorization`` header of a request, or None; two or more are an ambiguous
    credential (``Unauthorized``): servers and proxies disagree on which one counts, so the
    mock accepts neither. The API and the journal both decide through this function."""
    found: str | None = None
    for name, value in headers:
        if name == b"authorization":
            if found is not None:
                raise Unauthorized(
                    "Ambiguous credentials: the request has more than one Authorization header; send exactly one"
                )
            found = value.decode("latin-1")
    return found


def bearer_key(header: str | None) -> str:
    """The API key of an ``Authorization: Bearer KEY`` header, or ``Unauthorized``."""
    if not header:
        raise Unauthorized("Missing API key: send the header 'Authorization: Bearer YOUR_API_KEY'")
    match = _BEARER.match(header)
    if match is None:
        raise Unauthorized("Invalid Authorization header: expected 'Bearer YOUR_API_KEY'")
    return match.group(1)


def check_task_id(task_id: str) -> None:
    """Refuse ids that cannot be task ids (``invalid_task_id``); unknown good ones are 404s."""
    if not task_id.startswith(TASK_ID_PREFIX):
        raise InvalidTaskId()
