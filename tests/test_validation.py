"""Request validation: the fast jsonschema-rs check and openapi-core's validator agree, for
the whole family's schema and each model's; checking by ``model`` refuses what the family's
``oneOf`` refuses."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, strategies as st

from evolink_spec import load_bundle
from mock_server.errors import InvalidRequest
from mock_server.validation import RequestValidator

VALIDATOR = RequestValidator(load_bundle())
OPERATION = "createImageGeneration"
MODELS = VALIDATOR.model_names(OPERATION)

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
        "model": st.sampled_from([*MODELS, "dall-e"]) | values,
        "prompt": st.text(max_size=5) | st.just("x" * 1001) | st.just("x" * 2001) | values,
        "size": st.sampled_from(["auto", "1:1", "16:9", "5:4", "1:8", "2K", "1024x1024", "1024×1536", "0x9"]) | values,
        "resolution": st.sampled_from(["1K", "4K", "8K"]) | values,
        "quality": st.sampled_from(["2K", "0.5K", "low", "auto"]) | values,
        "image_urls": st.lists(urls, max_size=7) | values,
        "callback_url": urls | values,
        "n": st.integers(-1, 16) | values,
    },
)


def core_says_valid(payload: Any) -> bool:
    """openapi-core's verdict on the whole family's schema (the ``oneOf``)."""
    return bool(VALIDATOR._bodies[OPERATION].slow.validator.is_valid(payload))


@given(bodies | st.lists(st.integers(), max_size=2) | values)
def test_fast_check__agrees_with_openapi_core(payload: Any) -> None:
    assert VALIDATOR._bodies[OPERATION].fast.is_valid(payload) == core_says_valid(payload)


@given(st.sampled_from(MODELS), bodies)
def test_fast_check__agrees_with_openapi_core_for_each_model(model: str, payload: dict[str, Any]) -> None:
    pair = VALIDATOR._by_model[OPERATION][model]
    body = {**payload, "model": model}
    assert pair.fast.is_valid(body) == bool(pair.slow.validator.is_valid(body))


@given(bodies)
def test_validate_body__refuses_exactly_what_openapi_core_refuses(payload: dict[str, Any]) -> None:
    try:
        VALIDATOR.validate_body(OPERATION, payload)
        accepted = True
    except InvalidRequest as error:
        accepted = False
        assert error.param
    assert accepted == core_says_valid(payload)


def test_validate_body__an_unknown_model_lists_every_model_and_the_extra_values_accepted() -> None:
    payload = {"model": "dall-e", "prompt": "x"}
    with pytest.raises(InvalidRequest) as refused:
        VALIDATOR.validate_body(OPERATION, payload, extra_values={"model": ("nano-banana-pro", "nano-banana-beta")})
    assert refused.value.param == "model"
    listed = refused.value.message.split("Supported values are: ")[1].split(", ")
    assert listed == [*MODELS, "nano-banana-pro"]
    assert {"gpt-image-2", "z-image-turbo", "gemini-2.5-flash-image"} <= set(listed)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"prompt": "x"}, "Missing required parameter: 'model'"),
        ({"model": 3, "prompt": "x"}, "Invalid type for 'model': expected string, got integer"),
        ([], "Request body must be a JSON object, got array"),
    ],
)
def test_validate_body__a_missing_or_mistyped_model_names_model(payload: Any, message: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        VALIDATOR.validate_body(OPERATION, payload)
    assert refused.value.message == message


def test_validate_body__refuses_by_the_models_own_schema() -> None:
    with pytest.raises(InvalidRequest) as refused:
        VALIDATOR.validate_body(OPERATION, {"model": "gpt-4o-image", "prompt": "x" * 1001})
    assert refused.value.param == "prompt" and "at most 1000" in refused.value.message
    VALIDATOR.validate_body(OPERATION, {"model": "gpt-image-2", "prompt": "x" * 32000, "size": "1024x1024"})
