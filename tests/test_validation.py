"""Request validation: the fast jsonschema-rs check and openapi-core's validator agree."""

from __future__ import annotations

from typing import Any

from hypothesis import given, strategies as st

from evolink_spec import load_bundle
from mock_server.errors import InvalidRequest
from mock_server.validation import RequestValidator

VALIDATOR = RequestValidator(load_bundle())
OPERATION = "createImageGeneration"

urls = st.sampled_from(
    [
        "https://x.test/a.png",
        "https://x.test/a.JPG?x=1",
        "https://x.test/a.gif",
        "ftp x.png",
        "http://h/b.webp",
        "https://bad host/a.png",
        "a.png",
        "",
        "https://x.test/a.jpeg#f",
    ]
) | st.text(max_size=30)
values = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["nano-banana-beta", "gemini-2.5-flash-image", "dall-e"]) | values,
        "prompt": st.text(max_size=5) | st.just("x" * 2001) | values,
        "size": st.sampled_from(["auto", "1:1", "16:9", "5:4"]) | values,
        "image_urls": st.lists(urls, max_size=7) | values,
        "callback_url": urls | values,
        "n": values,
    },
)


def core_says_valid(payload: Any) -> bool:
    return bool(VALIDATOR._bodies[OPERATION].validator.is_valid(payload))


@given(bodies | st.lists(st.integers(), max_size=2) | values)
def test_fast_check__agrees_with_openapi_core(payload: Any) -> None:
    assert VALIDATOR._fast[OPERATION].is_valid(payload) == core_says_valid(payload)


@given(bodies)
def test_validate_body__refuses_exactly_what_openapi_core_refuses(payload: dict[str, Any]) -> None:
    try:
        VALIDATOR.validate_body(OPERATION, payload)
        accepted = True
    except InvalidRequest as error:
        accepted = False
        assert error.param
    assert accepted == core_says_valid(payload)


def test_validate_body__an_enum_refusal_lists_the_extra_values_accepted() -> None:
    payload = {"model": "z-image-turbo", "prompt": "x"}
    try:
        VALIDATOR.validate_body(OPERATION, payload, extra_values={"model": ("nano-banana-pro", "nano-banana-beta")})
    except InvalidRequest as refused:
        assert refused.message.endswith(
            "Supported values are: nano-banana-beta, gemini-2.5-flash-image, nano-banana-pro"
        )
    else:
        raise AssertionError("an unknown model was accepted")
