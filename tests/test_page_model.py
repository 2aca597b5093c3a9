"""Model page: presets, adding / removing / reordering layers, live shapes, and validation that blocks training."""
from conftest import open_page


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
    from streamlit.testing.v1 import AppTest
    from pathlib import Path

    fresh = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboard.py"), default_timeout=60)
    fresh.query_params["model"] = token
    fresh.run()
    fresh.switch_page("pages/model.py").run()
    assert len(table(fresh)) == 12 and table(fresh)[0]["layer"] == "Conv2d 6 5x5"
