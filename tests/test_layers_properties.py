"""Property tests: every layer stack either builds and runs forward, or validation refuses it with its message."""
import json

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models.codec import spec_from_json
from core.models.layers import (
    GELU,
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    GlobalAvgPool,
    Linear,
    MaxPool2d,
    PatchWhiten,
    ReLU,
    ResidualBlock,
    Scale,
    SpecError,
)
from core.models.spec import ModelSpec, build_model, validate

sizes = st.integers(min_value=-2, max_value=80)
layers = st.one_of(
    st.builds(Conv2d, sizes, st.integers(-1, 9), st.integers(-1, 4), st.integers(-1, 5)),
    st.builds(MaxPool2d, st.integers(0, 6), st.integers(0, 4)),
    st.builds(AvgPool2d, st.integers(0, 6), st.integers(0, 4)),
    st.builds(BatchNorm2d), st.just(ReLU()), st.just(GELU()), st.just(Flatten()), st.just(GlobalAvgPool()),
    st.builds(Dropout, st.floats(-0.5, 1.5) | st.just(float("nan"))),
    st.builds(Linear, st.one_of(sizes, st.just(10))),
    st.builds(ResidualBlock, st.integers(-1, 40), st.integers(0, 3)),
    st.builds(Scale, st.floats(-10, 10) | st.just(float("nan"))),
    st.builds(PatchWhiten, st.integers(0, 5)),
)
ending = st.sampled_from([(), (Flatten(), Linear(10)), (GlobalAvgPool(), Linear(10))])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(layers, max_size=8), ending)
def test_every_stack_builds_and_runs_or_is_refused_with_a_message(stack, end):
    spec = ModelSpec(tuple(stack) + end)
    try:
        validate(spec)
    except SpecError as exc:
        assert str(exc) and ("layer" in str(exc) or "no layers" in str(exc))
        return
    model = build_model(spec).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 32, 32))
    assert out.shape == (1, 10)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
layer_json = st.fixed_dictionaries(
    {"type": st.sampled_from(["Conv2d", "Linear", "MaxPool2d", "Dropout", "Teleport", "Flatten", 3])},
    optional={"out_channels": json_values, "out_features": json_values, "kernel_size": json_values, "p": json_values,
              "extra": json_values},
)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.one_of(json_values, st.fixed_dictionaries({"layers": st.lists(layer_json, max_size=6)}),
                 st.text(max_size=40)))
def test_random_json_specs_parse_and_validate_or_fail_with_a_spec_error(value):
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        validate(spec_from_json(text))
    except SpecError as exc:
        assert str(exc)
