"""A sweep: two or three values for up to three settings, every combination checked and queued as a run of its own,
all or none; the Train form starts one and shows its runs landing in a comparison table."""
import time
from dataclasses import replace

import pytest
from conftest import SMALL_CONFIG, SMALL_SPEC, open_page

from core.bounds import declared, is_flag
from core.classroom.queue import MAX_WAITING_PER_OWNER
from core.classroom.requests import RunRequest
from core.classroom.scheduler import QueueFullError, Scheduler
from core.runs import folder as runs
from core.training.config import TrainConfig
from core.training.sweep import SWEEPABLE, Axis, SweepError, expand


def _two_valid(name: str) -> tuple[str, tuple]:
    """Two allowed values of a setting, as a person types them and as the config holds them."""
    f = next(f for f in declared(TrainConfig) if f.name == name)
    if is_flag(f):
        return "on, off", (True, False)
    if "choices" in f.metadata:
        a, b = f.metadata["choices"][:2]
        return f"{a}, {b}", (a, b)
    low, high = f.metadata["bounds"].span
    return f"{low}, {high}", (low, high)


@pytest.mark.parametrize("name", SWEEPABLE)
def test_every_sweepable_setting_takes_two_of_its_values_typed_as_the_config_holds_them(name):
    text, expected = _two_valid(name)
    axis = Axis.parse(name, text)
    assert axis.values == expected and [type(v) for v in axis.values] == [type(v) for v in expected]


def test_the_form_offers_every_setting_but_the_device_and_the_seed_besides():
    form = {f.name for f in declared(TrainConfig) if f.metadata["setting"].form}
    assert set(SWEEPABLE) == form - {"device"} | {"seed"}


@pytest.mark.parametrize("name, text, problem", [
    ("lr", "0.1", "2 or 3 different values"),
    ("lr", "0.1, 0.2, 0.3, 0.4", "2 or 3 different values"),
    ("lr", "0.1, 0.1", "with repeats"),
    ("lr", "fast, 0.1", "is not a number"),
    ("epochs", "2, 2.5", "not a whole number"),
    ("optimizer", "sgd, lion", "is not one of sgd, adam, adamw or muon"),
    ("flip", "on, maybe", "is not on or off"),
    ("device", "cpu, cuda", "cannot be swept"),
])
def test_a_sweep_that_cannot_be_read_says_which_setting_and_what_it_takes(name, text, problem):
    with pytest.raises(SweepError, match=problem):
        Axis.parse(name, text)


def test_every_combination_is_a_checked_config_and_a_bad_one_is_named():
    base = TrainConfig(nesterov=True, momentum=0.9)
    configs = expand(base, [Axis.parse("lr", "0.01, 0.1"), Axis.parse("optimizer", "sgd, adam"),
                            Axis.parse("batch_size", "32, 64, 128")])
    assert len(configs) == 12
    assert {(c.lr, c.optimizer, c.batch_size) for c in configs} == {
        (lr, o, b) for lr in (0.01, 0.1) for o in ("sgd", "adam") for b in (32, 64, 128)}
    assert all(c.nesterov == (c.optimizer == "sgd") for c in configs)  # leaving SGD leaves Nesterov behind
    with pytest.raises(SweepError, match="lr=20"):
        expand(base, [Axis.parse("lr", "0.1, 20")])
    with pytest.raises(SweepError, match="once"):
        expand(base, [Axis.parse("lr", "0.1, 0.2"), Axis.parse("lr", "0.3, 0.4")])


def test_a_sweep_is_queued_all_or_none_within_a_students_cap(tiny_dataset, tmp_path):
    scheduler = Scheduler(tmp_path / "runs", slots=0)  # everything waits
    config = replace(SMALL_CONFIG, epochs=1)
    too_many = [RunRequest.classifier(SMALL_SPEC, config, tiny_dataset.source, "ann")
                for _ in range(MAX_WAITING_PER_OWNER + 1)]
    with pytest.raises(QueueFullError, match=f"these {MAX_WAITING_PER_OWNER + 1} runs"):
        scheduler.submit_many(too_many, tiny_dataset)
    assert runs.list_runs(tmp_path / "runs") == []  # none of them was written
    ids = scheduler.submit_many(too_many[:2], tiny_dataset)
    assert [r.summary.status for r in runs.list_runs(tmp_path / "runs")] == ["queued", "queued"] and len(set(ids)) == 2
    personal = [RunRequest.classifier(SMALL_SPEC, config, tiny_dataset.source) for _ in range(6)]
    assert len(scheduler.submit_many(personal, tiny_dataset)) == 6  # personal mode: no cap


def test_the_train_form_starts_a_sweep_and_compares_its_runs_as_they_finish(app_env):
    at = open_page("train")
    at.selectbox(key="train_model").set_value("seed").run()
    at.number_input(key="seed_epochs").set_value(1)
    at.selectbox(key="seed_sweep_name0").set_value("lr")
    at.text_input(key="seed_sweep_values0").set_value("0.01, 0.05")
    at.selectbox(key="seed_sweep_name1").set_value("flip")
    at.text_input(key="seed_sweep_values1").set_value("on, off")
    at.button(key="seed_sweep_go").click().run()
    assert not at.error, [e.value for e in at.error]
    ids = at.session_state.sweep_runs
    assert len(ids) == 4
    deadline = time.time() + 120
    while time.time() < deadline and any(runs.read_summary(runs.run_path(r)).status != "finished" for r in ids):
        time.sleep(0.2)
    at.run()
    frame = at.dataframe[0].value
    assert sorted(frame["run"]) == sorted(ids) and set(frame.columns) >= {"lr", "flip", "test accuracy"}
    assert sorted(zip(frame["lr"], frame["flip"])) == [(0.01, False), (0.01, True), (0.05, False), (0.05, True)]


def test_a_sweep_with_a_bad_value_starts_nothing_and_says_why(app_env):
    at = open_page("train")
    at.selectbox(key="train_model").set_value("seed").run()
    at.selectbox(key="seed_sweep_name0").set_value("lr")
    at.text_input(key="seed_sweep_values0").set_value("0.01, 50")
    at.button(key="seed_sweep_go").click().run()
    assert any("The sweep did not start" in e.value and "lr=50" in e.value for e in at.error)
    assert not runs.list_runs(runs.RUNS_ROOT)
