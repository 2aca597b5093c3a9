"""Train page: a run starts from the form, its charts grow while it trains, Stop stops it, and it is saved."""
import time

import pytest
from conftest import open_page, plotly_figures

from core.runs import folder as runs
from core.training.presets import PRESETS

MODEL_KEY = "the model from the Model page"


def start(at, epochs: int, batch: int = 4, holdout: int = 0):
    """Start a run from the form; by default on all 60 tiny training images (none held out for calibration)."""
    at.number_input(key=f"{MODEL_KEY}_epochs").set_value(epochs)
    at.number_input(key=f"{MODEL_KEY}_batch").set_value(batch)
    at.number_input(key=f"{MODEL_KEY}_holdout").set_value(holdout)
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at.query_params["run"][0] if isinstance(at.query_params["run"], list) else at.query_params["run"]


def poll_until(at, condition, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        if condition(at):
            return
        time.sleep(0.2)
    raise AssertionError("the page never reached the expected state")


def loss_points(at) -> int:
    fig = plotly_figures(at).get("loss_chart")
    return len(fig["data"][0]["x"]) if fig else 0


@pytest.mark.slow
def test_a_short_run_trains_live_and_finishes(app_env):
    at = open_page("train")
    run_id = start(at, epochs=40, batch=1)
    poll_until(at, lambda a: loss_points(a) > 0)
    first = loss_points(at)
    assert first < 2400, "the run finished before the page could watch it"
    poll_until(at, lambda a: any("Finished: test accuracy" in s.value for s in a.success))
    assert loss_points(at) > first and runs.read_history(runs.run_path(run_id)).steps[-1].step == 2400
    acc = plotly_figures(at)["acc_chart"]
    assert [t["name"] for t in acc["data"]] == ["train", "test"] and acc["data"][1]["x"] == list(range(1, 41))
    assert runs.read_summary(runs.run_path(run_id)).status == "finished"


def test_stop_stops_the_run_and_keeps_it(app_env):
    at = open_page("train")
    run_id = start(at, epochs=400, batch=1)
    poll_until(at, lambda a: any(b.label == "Stop" for b in a.button) and loss_points(a) > 0)
    at.button(key="stop").click().run()
    poll_until(at, lambda a: any("Stopped" in i.value for i in a.info), timeout=30)
    [event] = runs.read_history(runs.run_path(run_id)).events
    assert event.type == "stop" and event.step < 400 * 60
    assert runs.read_summary(runs.run_path(run_id)).status == "stopped"
    assert (runs.run_path(run_id) / "weights.safetensors").exists()


def test_reopening_the_page_with_the_run_in_the_url_shows_its_history(app_env):
    at = open_page("train")
    run_id = start(at, epochs=1)
    poll_until(at, lambda a: any("Finished" in s.value for s in a.success))
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    fresh = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboard.py"), default_timeout=60)
    fresh.query_params["run"] = run_id
    fresh.run()
    fresh.switch_page("pages/train.py").run()
    fresh.query_params["run"] = run_id
    fresh.run()
    assert loss_points(fresh) == 15 and any(run_id in s.value for s in fresh.subheader)


def test_a_diverging_run_stops_with_the_reason(app_env):
    at = open_page("train")
    at.select_slider(key=f"{MODEL_KEY}_lr").set_value(10.0)
    at.slider(key=f"{MODEL_KEY}_mom").set_value(0.99)
    start(at, epochs=5)
    poll_until(at, lambda a: any("diverged" in e.value for e in a.error))
    assert "Try a learning rate about 10x lower" in at.error[0].value


@pytest.mark.slow
def test_two_sessions_train_at_once_and_stopping_one_leaves_the_other(app_env):
    from ui.state import registry

    first, second = open_page("train"), open_page("train")
    id_a, id_b = start(first, epochs=400, batch=1), start(second, epochs=400, batch=1)
    assert id_a != id_b
    poll_until(first, lambda a: loss_points(a) > 0)
    poll_until(second, lambda a: loss_points(a) > 0)
    job_a, job_b = registry().get(id_a), registry().get(id_b)
    assert job_a is not job_b and job_a.control is not job_b.control
    first.button(key="stop").click().run()
    poll_until(first, lambda a: any("Stopped" in i.value for i in a.info), timeout=10)
    before = loss_points(second)
    time.sleep(1.0)
    poll_until(second, lambda a: loss_points(a) > before)
    assert job_b.alive and not job_a.alive
    assert runs.read_summary(runs.run_path(id_b)).status == "running"


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_opens_in_the_form_with_its_own_settings(app_env, preset):
    at = open_page("train")
    at.selectbox(key="train_model").set_value(preset).run()
    assert not at.exception, [e.message for e in at.exception]
    config = PRESETS[preset].config
    assert at.select_slider(key=f"{preset}_lr").value == config.lr
    assert at.select_slider(key=f"{preset}_wd").value == config.weight_decay
    assert at.number_input(key=f"{preset}_batch").value == config.batch_size


def test_the_form_offers_exactly_the_ranges_and_choices_core_accepts(app_env):
    from core.bounds import bounds_of, choices_of
    from core.training.config import TrainConfig

    at = open_page("train")
    at.selectbox(key="train_model").set_value("seed").run()
    for key, name in (("epochs", "epochs"), ("batch", "batch_size")):
        w, b = at.number_input(key=f"seed_{key}"), bounds_of(TrainConfig, name)
        assert (w.min, w.max) == (b.low, b.high), name
    for key, name in (("mom", "momentum"), ("ls", "label_smoothing"), ("crop", "crop_padding"), ("rrc", "crop_scale"),
                      ("jitter", "color_jitter"), ("erase", "erasing"), ("noise", "noise"), ("blur", "blur"),
                      ("share", "photo_share"), ("consistency", "consistency")):
        w, b = at.slider(key=f"seed_{key}"), bounds_of(TrainConfig, name)
        assert (w.min, w.max) == (b.low, b.high), name
    w, b = at.number_input(key="seed_holdout"), bounds_of(TrainConfig, "holdout")
    assert (w.min, w.max) == (b.low, min(b.high, 60 // 5))  # at most a fifth of the (tiny) training set
    lrs = at.select_slider(key="seed_lr").options
    lr = bounds_of(TrainConfig, "lr")
    assert float(lrs[0]) == lr.low and float(lrs[-1]) == lr.high
    for key, name in (("opt", "optimizer"), ("sched", "schedule"), ("device", "device")):
        assert tuple(at.selectbox(key=f"seed_{key}").options) == choices_of(TrainConfig, name), name


def test_the_lr_finder_draws_its_curve_and_one_click_puts_the_suggestion_in_the_form(app_env):
    at = open_page("train")
    at.selectbox(key="train_model").set_value("tutorial").run()
    at.number_input(key="tutorial_batch").set_value(10)
    next(b for b in at.button if b.label == "Find a learning rate").click().run()
    job = at.session_state["lr_job"]
    assert job.join(60) and job.snapshot().status == "finished"
    at.run()
    at.run()  # the finder's view reruns the page once when it ends
    chart = plotly_figures(at)["lr_find_chart"]
    assert chart["layout"]["xaxis"]["type"] == "log" and len(chart["data"][1]["x"]) == len(job.snapshot().lrs)
    suggested = float(f"{job.snapshot().suggested:.2g}")
    at.button(key="lr_find_use").click().run()
    assert at.select_slider(key="tutorial_lr").value == suggested and not at.exception


def test_a_finished_run_has_a_time_lapse_to_scrub_through(app_env):
    at = open_page("train")
    start(at, epochs=3)
    poll_until(at, lambda a: any("Finished" in s.value for s in a.success))
    at.run()
    slider = next(s for s in at.select_slider if s.label == "Epoch")
    assert slider.options == ["1", "2", "3"] and slider.value == 3
    late = [img.proto.imgs[0].caption for img in at.get("image") if ": sees " in img.proto.imgs[0].caption]
    slider.set_value(1).run()
    early = [img.proto.imgs[0].caption for img in at.get("image") if ": sees " in img.proto.imgs[0].caption]
    assert len(early) == len(late) == 6 and any("First-layer filters after epoch 1" in c.value for c in at.caption)


def test_the_augmentation_sliders_reach_the_runs_config(app_env):
    at = open_page("train")
    at.selectbox(key="train_model").set_value("seed").run()
    at.number_input(key="seed_epochs").set_value(1)
    for key, value in (("rrc", 0.5), ("jitter", 0.3), ("erase", 0.25), ("noise", 0.05), ("blur", 0.6),
                       ("share", 0.5), ("consistency", 6.0)):
        at.slider(key=f"seed_{key}").set_value(value)  # form widgets: sent with the submit
    at.checkbox(key="seed_apart").check()
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception
    from ui.state import registry

    config = registry().get(at.session_state.job_id).config
    assert (config.crop_scale, config.color_jitter, config.erasing, config.noise, config.blur, config.photo_share,
            config.consistency, config.photo_apart) == (0.5, 0.3, 0.25, 0.05, 0.6, 0.5, 6.0, True)


def test_the_robust_preset_opens_with_its_augmentation(app_env):
    at = open_page("train")
    at.selectbox(key="train_model").set_value("robust").run()
    config = PRESETS["robust"].config
    assert at.slider(key="robust_rrc").value == config.crop_scale and config.crop_scale < 1
    assert at.slider(key="robust_jitter").value == config.color_jitter
    assert at.slider(key="robust_noise").value == config.noise
    assert at.slider(key="robust_blur").value == config.blur and config.blur > 0
    assert at.slider(key="robust_share").value == config.photo_share < 1
    assert at.checkbox(key="robust_apart").value == config.photo_apart
