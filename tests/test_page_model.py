"""Model page: presets, adding / removing / reordering layers, live shapes, and validation that blocks training."""
from dataclasses import fields

import pytest
from conftest import open_page

from core.bounds import bounds_of
from core.models.layers import LAYER_KINDS
from core.training.presets import PRESETS


def table(at) -> list[dict]:
    return at.dataframe[0].value.to_dict("records")


def test_seed_preset_table_shows_shapes_and_totals(app_env):
    at = open_page("model")
    rows = table(at)
    assert [r["output shape"] for r in rows] == ["16x28x28", "16x14x14", "3136", "128", "128", "10"]
    assert {m.label: m.value for m in at.metric}["Parameters"] == "404,042"


def test_adding_a_layer_updates_the_shapes(app_env):
    at = open_page("model")
    at.selectbox(key="add_kind").set_value("Conv2d").run()
    at.number_input(key="add_pos").set_value(1).run()
    at.button(key="add_layer").click().run()
    rows = table(at)
    assert len(rows) == 7 and rows[0]["layer"] == "Conv2d 32 3x3" and rows[1]["output shape"] == "16x28x28"
    assert {m.label: m.value for m in at.metric}["Parameters"] != "404,042"


def test_an_invalid_stack_shows_the_message_at_the_layer_and_blocks_training(app_env):
    at = open_page("model")
    at.selectbox(key="add_kind").set_value("MaxPool2d").run()
    at.button(key="add_layer").click().run()  # pooling after the final Linear: no feature maps left
    assert "layer 7, MaxPool2d 2x2: MaxPool2d needs feature maps" in at.error[0].value
    assert table(at)[6]["problem"].startswith("layer 7")
    at.switch_page("pages/train.py").run()
    assert "cannot be trained until it is fixed" in at.error[0].value
    assert not any(b.label == "Start training" for b in at.button)


def test_reorder_and_remove(app_env):
    at = open_page("model")
    at.selectbox(key="edit_pick").set_value(1).run()
    at.button(key="move_up").click().run()
    assert [r["layer"] for r in table(at)][:2] == ["MaxPool2d 2x2", "Conv2d 16 5x5"]
    at.button(key="remove_layer").click().run()
    assert len(table(at)) == 5


def test_presets_load_and_code_is_shown(app_env):
    at = open_page("model")
    at.selectbox(key="preset_pick").set_value("tutorial").run()
    at.button(key="preset_load").click().run()
    assert len(table(at)) == 12
    assert "nn.Conv2d(3, 6, 5" in at.code[0].value


def test_the_url_carries_the_model_and_a_shared_link_opens_it(app_env):
    at = open_page("model")
    at.selectbox(key="preset_pick").set_value("tutorial").run()
    at.button(key="preset_load").click().run()
    token = at.query_params["model"]
    token = token[0] if isinstance(token, list) else token
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    fresh = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboard.py"), default_timeout=60)
    fresh.query_params["model"] = token
    fresh.run()
    fresh.switch_page("pages/model.py").run()
    assert len(table(fresh)) == 12 and table(fresh)[0]["layer"] == "Conv2d 6 5x5"


def _edit_widgets(at, kind: str) -> dict:
    """The edit form's number inputs for the layer at position 1, by setting name."""
    return {w.key.split(f"_{kind}_", 1)[1]: w for w in at.number_input
            if w.key and w.key.startswith("edit0-") and f"_{kind}_" in w.key}


@pytest.mark.parametrize("kind", list(LAYER_KINDS))
def test_every_layer_kind_can_be_added_then_edited_to_the_ends_of_its_ranges(app_env, kind):
    """Each setting's widget spans exactly the range the spec validates: adding the layer with its defaults, then
    setting each number to its highest allowed value and applying, never raises."""
    at = open_page("model")
    at.selectbox(key="add_kind").set_value(kind).run()
    at.number_input(key="add_pos").set_value(1).run()
    at.button(key="add_layer").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert table(at)[0]["layer"].startswith(kind)
    at.selectbox(key="edit_pick").set_value(0).run()
    cls = LAYER_KINDS[kind]
    ranged = {f.name for f in fields(cls) if "bounds" in f.metadata}
    assert set(_edit_widgets(at, kind)) == ranged
    for name in sorted(ranged):
        w = _edit_widgets(at, kind)[name]
        bounds = bounds_of(cls, name)
        assert (w.min, w.max) == (bounds.low, bounds.high), name
        w.set_value(w.max).run()
        assert not at.exception, [e.message for e in at.exception]
    at.button(key="apply_edit").click().run()
    assert not at.exception, [e.message for e in at.exception]
    edited = at.session_state["spec"].layers[0]
    assert {name: getattr(edited, name) for name in ranged} == {name: bounds_of(cls, name).high for name in ranged}


@pytest.mark.parametrize("preset", list(PRESETS))
@pytest.mark.slow
def test_every_layer_of_every_preset_opens_in_the_edit_form(app_env, preset):
    at = open_page("model")
    at.selectbox(key="preset_pick").set_value(preset).run()
    at.button(key="preset_load").click().run()
    kinds_seen = set()
    for i, layer in enumerate(PRESETS[preset].spec.layers):
        if layer in kinds_seen:
            continue  # identical layers draw identical forms
        kinds_seen.add(layer)
        at.selectbox(key="edit_pick").set_value(i).run()
        assert not at.exception, (i, layer, [e.message for e in at.exception])
        at.button(key="apply_edit").click().run()
        assert not at.exception, (i, layer, [e.message for e in at.exception])
    assert at.session_state["spec"].layers == PRESETS[preset].spec.layers  # opening and applying changes nothing


def test_every_layer_kind_is_explained_where_it_is_added():
    from ui.layer_forms import EXPLAIN

    assert set(EXPLAIN) == set(LAYER_KINDS) and all(len(text) > 20 for text in EXPLAIN.values())
