"""Layer specs: shapes, parameters and MACs agree with torch; validation names the layer and the fix."""
import json

import pytest
import torch

from core.models.codec import spec_from_json, spec_to_json
from core.models.layers import (
    GELU,
    LAYER_KINDS,
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
from core.models.spec import ModelSpec, build_model, layer_report, summarize, validate
from core.runs.export import to_python
from core.training.presets import PRESETS

# one small model per layer kind, each ending in 10 outputs
EXAMPLES = {
    "Conv2d": [Conv2d(8, 3, 2, 1), Flatten(), Linear(10)],
    "MaxPool2d": [MaxPool2d(2), Flatten(), Linear(10)],
    "AvgPool2d": [AvgPool2d(4), Flatten(), Linear(10)],
    "BatchNorm2d": [Conv2d(4), BatchNorm2d(), GlobalAvgPool(), Linear(10)],
    "ReLU": [Conv2d(4), ReLU(), GlobalAvgPool(), Linear(10)],
    "GELU": [Conv2d(4), GELU(), GlobalAvgPool(), Linear(10)],
    "Dropout": [Conv2d(4), Dropout(0.3), GlobalAvgPool(), Linear(10)],
    "Flatten": [MaxPool2d(4), Flatten(), Linear(10)],
    "Linear": [GlobalAvgPool(), Linear(32), ReLU(), Linear(10)],
    "GlobalAvgPool": [Conv2d(16), GlobalAvgPool(), Linear(10)],
    "ResidualBlock": [Conv2d(8), ResidualBlock(16, 2), GlobalAvgPool(), Linear(10)],
    "Scale": [GlobalAvgPool(), Linear(10), Scale(0.5)],
    "PatchWhiten": [PatchWhiten(2), GELU(), GlobalAvgPool(), Linear(10)],
}


def test_every_layer_kind_has_an_example():
    assert set(EXAMPLES) == set(LAYER_KINDS)


@pytest.mark.parametrize("spec", [ModelSpec(tuple(v), name=k) for k, v in EXAMPLES.items()] +
                         [p.spec for p in PRESETS.values()], ids=lambda s: s.name)
def test_models_build_and_match_inferred_shapes_and_parameters(spec):
    summary = validate(spec)
    model = build_model(spec).eval()
    out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    assert summary.parameters == sum(p.numel() for p in model.parameters())
    x = torch.randn(1, 3, 32, 32)
    for module, info in zip(model, summary.layers):  # each layer's real output shape = the inferred one
        x = module(x)
        assert tuple(x.shape[1:]) == info.output_shape


def test_macs_of_a_conv_and_a_linear():
    s = summarize(ModelSpec((Conv2d(16, 5, 1, 0), MaxPool2d(2), Flatten(), Linear(10))))
    assert s.layers[0].macs == 3 * 16 * 25 * 28 * 28
    assert s.layers[3].macs == 16 * 14 * 14 * 10


def test_seed_preset_is_the_tutorial_classifier():
    s = summarize(PRESETS["seed"].spec)
    assert [i.output_shape for i in s.layers] == [(16, 28, 28), (16, 14, 14), (3136,), (128,), (128,), (10,)]
    assert s.parameters == (3 * 16 * 25 + 16) + (3136 * 128 + 128) + (128 * 10 + 10)


def test_pooling_a_one_pixel_map_names_the_layer_and_the_fix():
    layers = (Conv2d(8, 3, 2, 1), MaxPool2d(2), MaxPool2d(2), MaxPool2d(2), MaxPool2d(2), MaxPool2d(2))
    with pytest.raises(SpecError) as err:
        summarize(ModelSpec(layers))
    assert str(err.value).startswith("layer 6, MaxPool2d 2x2: its input is 1x1, smaller than the 2x2 window")
    assert "remove a pooling layer" in str(err.value)


def test_linear_on_feature_maps_asks_for_flatten():
    with pytest.raises(SpecError, match="layer 2, Linear 10: its input is still 8x32x32 .* add a Flatten"):
        validate(ModelSpec((Conv2d(8), Linear(10))))


def test_model_must_end_in_ten_outputs():
    with pytest.raises(SpecError, match="layer 3, Linear 7: the model ends in 7 outputs, but it must end in 10"):
        validate(ModelSpec((GlobalAvgPool(), Linear(32), Linear(7))))


def test_empty_and_nonsense_sizes_are_refused():
    with pytest.raises(SpecError, match="no layers"):
        validate(ModelSpec(()))
    with pytest.raises(SpecError, match="layer 1, Conv2d 0 3x3: out_channels must be a whole number from 1 to 4096, got 0"):
        validate(ModelSpec((Conv2d(0), Flatten(), Linear(10))))


def test_activations_that_would_not_fit_in_memory_are_refused_naming_the_biggest_layer():
    with pytest.raises(SpecError, match=r"^layer 2, Conv2d 4096 3x3: .* too many to train in memory") as err:
        validate(ModelSpec((Conv2d(8, 3), Conv2d(4096, 3), GlobalAvgPool(), Linear(10))))
    assert err.value.layer == 2 and "this layer outputs 4,194,304 of them" in str(err.value)


def test_too_many_parameters_names_the_widest_layer():
    with pytest.raises(SpecError, match=r"^layer 3, Linear 4096: the model has .* parameters, over the limit") as err:
        validate(ModelSpec((Conv2d(64), Flatten(), Linear(4096), Linear(10))))
    assert err.value.layer == 3


def test_json_round_trip_of_every_preset():
    for preset in PRESETS.values():
        text = json.dumps(spec_to_json(preset.spec))
        assert spec_from_json(text) == preset.spec


@pytest.mark.parametrize("text,message", [
    ("{not json", "not valid JSON"),
    ('{"layers": [{"type": "Teleport"}]}', "unknown layer type 'Teleport'"),
    ('{"layers": [{"type": "Conv2d"}]}', "missing setting 'out_channels'"),
    ('{"layers": [{"type": "Linear", "out_features": 10, "colour": 1}]}', "unknown setting 'colour'"),
    ('{"version": 99, "layers": []}', "version 99 is not supported"),
    ('[1, 2]', 'a "layers" list'),
])
def test_bad_json_specs_get_plain_messages(text, message):
    with pytest.raises(SpecError, match=message):
        spec_from_json(text)


def test_exported_python_defines_the_same_network(tmp_path):
    spec = PRESETS["tutorial"].spec
    namespace = {}
    exec(compile(to_python(spec), "net.py", "exec"), namespace)
    net, model = namespace["Net"](), build_model(spec)
    net.load_state_dict(model.state_dict())  # same parameter names and shapes
    x = torch.randn(3, 3, 32, 32)
    assert torch.allclose(net(x), model(x))
    assert "nn.Conv2d(3, 6, 5" in to_python(spec)


def test_exported_python_with_helpers_runs():
    spec = ModelSpec(tuple(EXAMPLES["ResidualBlock"]) + (Scale(2.0),))
    namespace = {}
    exec(to_python(spec), namespace)
    net, model = namespace["Net"](), build_model(spec)
    net.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(net.eval()(x), model.eval()(x), atol=1e-6)
    assert "class ScaleModule" in to_python(spec) and "class ResidualModule" in to_python(spec)  # the engine's own


def test_share_tokens_round_trip_and_refuse_damage():
    from core.models.codec import spec_from_token, spec_to_token

    for preset in PRESETS.values():
        assert spec_from_token(spec_to_token(preset.spec)) == preset.spec
    with pytest.raises(SpecError, match="damaged"):
        spec_from_token("not-a-token!!")
    import base64
    import zlib

    bomb = base64.urlsafe_b64encode(zlib.compress(b" " * 10_000_000)).decode()
    with pytest.raises(SpecError, match="damaged"):
        spec_from_token(bomb)


def _ranged_settings():
    """(kind, setting, bounds) for every bounded setting of every layer kind."""
    from dataclasses import fields

    return [(kind, f.name, f.metadata["bounds"]) for kind, cls in LAYER_KINDS.items() for f in fields(cls)
            if "bounds" in f.metadata]


@pytest.mark.parametrize("kind,name,bounds", _ranged_settings(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_setting_accepts_its_declared_range_and_refuses_beyond_it(kind, name, bounds):
    """The bounds on a field are the whole truth: both ends validate, one step past either end names the setting."""
    from dataclasses import replace

    base = EXAMPLES[kind][0] if kind in EXAMPLES and type(EXAMPLES[kind][0]).kind == kind else \
        next(layer for layer in EXAMPLES[kind] if layer.kind == kind)
    position = EXAMPLES[kind].index(base)
    step = 1 if bounds.whole else 1e-3
    for value, ok in ((bounds.low, True), (bounds.high, True), (bounds.low - step, False), (bounds.high + step, False)):
        value = int(value) if bounds.whole else float(value)
        layers = list(EXAMPLES[kind])
        layers[position] = replace(base, **{name: value})
        infos, problem = layer_report(ModelSpec(tuple(layers)))
        setting_problem = problem is not None and f"{name} must be" in str(problem)
        assert setting_problem != ok, (value, problem)
        if not ok:
            assert problem.layer == position + 1
