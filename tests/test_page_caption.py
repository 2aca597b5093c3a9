"""Caption page: a captioner trains from the form with live charts and sample captions, then captions a test scene
word by word with attention maps and beams, and is compared with the template describer."""
import json

import pytest
from conftest import open_page, plotly_figures
from test_page_train import poll_until

from core.bounds import bounds_of, choices_of
from core.caption.config import CaptionConfig
from core.caption.model import MAX_BEAM
from core.runs import folder as runs
from ui.figures import CAPTION_SCORES


def captions(at) -> list[str]:
    return [img.proto.imgs[0].caption for img in at.get("image")]


def start(at, **settings) -> str:
    """Start a small captioner; its encoder from scratch unless `encoder` names a classifier run (the form's default is
    the most accurate classifier, a starter included, whose adapting would take minutes here)."""
    at.selectbox(key="cap_encoder").set_value(settings.get("encoder", "train an encoder from scratch"))
    at.number_input(key="cap_epochs").set_value(settings.get("epochs", 1))
    at.number_input(key="cap_scenes").set_value(64)
    at.number_input(key="cap_batch").set_value(32)
    at.number_input(key="cap_hidden").set_value(32)
    at.slider(key="cap_smoothing").set_value(settings.get("label_smoothing", 0.2))
    next(b for b in at.button if b.label == "Start training the captioner").click().run()
    assert not at.exception, [e.message for e in at.exception]
    run = at.query_params["caption"]
    return run[0] if isinstance(run, list) else run


def test_the_form_offers_what_core_accepts(app_env):
    at = open_page("caption")
    for key, name in (("cap_epochs", "epochs"), ("cap_scenes", "scenes_per_epoch"), ("cap_batch", "batch_size"),
                      ("cap_hidden", "hidden"), ("cap_seed", "seed")):
        widget = at.number_input(key=key)
        b = bounds_of(CaptionConfig, name)
        assert (widget.min, widget.max) == (b.low, b.high), key
    assert list(at.get("segmented_control")[1].options) == list(choices_of(CaptionConfig, "cell"))
    shares = at.select_slider(key="cap_encoder_lr")
    b = bounds_of(CaptionConfig, "encoder_lr")
    assert shares.value == CaptionConfig().encoder_lr and all(b.low <= float(v) <= b.high for v in shares.options)
    smoothing, b = at.slider(key="cap_smoothing"), bounds_of(CaptionConfig, "label_smoothing")
    assert (smoothing.min, smoothing.max, smoothing.value) == (b.low, b.high, CaptionConfig().label_smoothing)
    assert at.selectbox(key="cap_run").value == "starter-captioner"  # a fresh install captions at once


@pytest.mark.slow
def test_train_watch_caption_and_compare(app_env, trained_run):
    at = open_page("caption")
    run_id = start(at)
    poll_until(at, lambda a: any("Finished" in s.value for s in a.success), timeout=180)
    figures = plotly_figures(at)
    assert figures["cap_loss"]["data"][0]["x"] and [t["name"] for t in figures["cap_scores"]["data"]] == list(
        CAPTION_SCORES.values())  # the varied test scenes' scores too
    assert sum(c.startswith("“") for c in captions(at)) == 16  # 8 fixed and 8 varied test scenes, each with its sentence
    assert runs.read_summary(runs.run_path(run_id)).kind == "captioner"
    assert json.loads((runs.run_path(run_id) / "config.json").read_text())["label_smoothing"] == 0.2

    assert at.selectbox(key="cap_run").value == run_id
    second = start(at)  # a second captioner: once trained, it is the one the picker offers first
    poll_until(at, lambda a: any("Finished" in s.value for s in a.success) and a.selectbox(key="cap_run").value == second,
               timeout=180)
    at.selectbox(key="cap_run").set_value(run_id).run()
    assert at.slider(key="cap_beam").max == MAX_BEAM
    at.slider(key="cap_beam").set_value(1).run()
    greedy = at.subheader[-1].value
    at.slider(key="cap_beam").set_value(4).run()
    beams = plotly_figures(at)["cap_beams"]["data"][0]
    assert not at.exception and 1 <= len(beams["y"]) <= 4 and all(0 <= p <= 100 for p in beams["x"])
    at.number_input(key="cap_scene").set_value(5).run()
    assert not at.exception and any("reference captions" in c.value for c in at.caption)
    sentence = at.subheader[-1].value.strip("“”").split()
    if sentence and sentence != ["(an", "empty", "sentence)"]:
        words = at.select_slider(key="cap_word")
        assert len(words.options) == len(sentence)
        words.set_value(len(sentence) - 1).run()
        assert not at.exception and f"attention for “{sentence[-1]}”" in captions(at)
        assert captions(at).count(sentence[0]) >= 1  # the side-by-side row: one map per word, captioned by it
    assert greedy.startswith("“") or greedy == "(an empty sentence)"

    at.select_slider(key="cap_compare_n").set_value(50).run()
    at.button(key="cap_compare").click().run()
    assert not at.exception, [e.message for e in at.exception]
    bars = plotly_figures(at)["cap_compare_chart"]["data"]
    assert [b["name"] for b in bars] == ["learned captioner", "template describer"]
    assert all(0 <= y <= 100 for b in bars for y in b["y"])
    at.segmented_control(key="cap_compare_set").set_value("varied scenes").run()
    at.button(key="cap_compare").click().run()
    assert not at.exception and any("on 50 varied test scenes" in c.value for c in at.caption)


@pytest.mark.slow
def test_a_classifier_encoder_adapts_first_and_the_loss_chart_marks_where(app_env, trained_run):
    """The default mode with a classifier's encoder: it adapts to scenes (epoch 0 of the progress), an "adapt" event
    marks the loss chart where the captions begin, and the run finishes like any other."""
    at = open_page("caption")
    assert at.get("segmented_control")[0].value == CaptionConfig().encoder_mode == "adapt"
    b = bounds_of(CaptionConfig, "adapt_scenes")
    widget = at.number_input(key="cap_adapt_scenes")
    assert (widget.min, widget.max, widget.value) == (b.low, b.high, CaptionConfig().adapt_scenes)
    widget.set_value(64)
    run_id = start(at, encoder=trained_run)
    poll_until(at, lambda a: any("Finished" in s.value for s in a.success), timeout=180)
    notes = [a["text"] for a in plotly_figures(at)["cap_loss"]["layout"]["annotations"]]
    assert notes == ["← encoder adapting (objects) · captions (per word) →"]
    said = "The encoder adapted on 64 training scenes: objects named from its grid"
    assert any(c.value.startswith(said) for c in at.caption)
    events = runs.read_history(runs.run_path(run_id)).events
    assert [e.type for e in events] == ["adapt"] and events[0].step == 64 // 32


def test_an_address_naming_no_captioner_is_explained(app_env, trained_run):
    for bad in ("../../etc", "20990101-000000-nothing-here", trained_run):  # the last is a classifier run
        at = open_page()
        at.query_params["caption"] = bad
        at.switch_page("pages/caption.py").run()
        assert not at.exception, [e.message for e in at.exception]
        assert any("No captioner run called" in w.value for w in at.warning), bad


@pytest.mark.slow
def test_the_train_page_does_not_show_a_captioner_run(app_env, tiny_dataset):
    from test_caption_train import QUICK

    from core.caption.job import CaptionJob, encoder_source
    from core.runs.folder import run_path
    from ui.state import registry

    job = registry().launch("captioner", lambda folder: CaptionJob(
        tiny_dataset, CaptionConfig(**{**QUICK, "epochs": 1}), encoder_source(None, tiny_dataset.classes), folder))
    job.join(120)
    for _ in range(2):  # from the server's job registry, then from the run folder alone
        at = open_page()
        at.query_params["run"] = job.id
        at.switch_page("pages/train.py").run()
        assert not at.exception, [e.message for e in at.exception]
        assert any("No classifier run called" in w.value for w in at.warning)
        registry()._jobs.clear()
    assert run_path(job.id).exists()


def test_the_encoder_defaults_to_the_most_accurate_finished_classifier(app_env, trained_run, tutorial_run_once):
    import json

    from conftest import copy_run

    better = copy_run(tutorial_run_once, runs.run_path("20260102-000000-tutorial-better"), str(app_env))
    summary = json.loads((better / "summary.json").read_text())
    (better / "summary.json").write_text(json.dumps({**summary, "test_accuracy": 0.99}))
    at = open_page("caption")
    encoder = at.selectbox(key="cap_encoder")
    assert encoder.value == better.name  # the most accurate first, whatever its age
    assert encoder.options[-1] == "train an encoder from scratch"
    assert "81.1%" in encoder.help and "30.7%" in encoder.help  # why, with the measured figures
