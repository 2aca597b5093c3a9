"""'N more epochs': a saved run continued as a new run that starts from its last weights and names its parent, through
the same queue as every run; the Train page offers it and charts the runs together."""
import math
import time

import torch
from conftest import open_page, plotly_figures

from core.classroom.requests import RunRequest, build_job, read_request, write_request
from core.runs import folder as runs
from core.runs.folder import load_model, open_run
from ui.continue_views import lineage


def test_a_continued_run_starts_from_its_parents_last_weights_with_its_model_and_settings(finished_run, tiny_dataset,
                                                                                           tmp_path):
    parent = open_run(finished_run)
    request = RunRequest.continuing(parent, 3, tiny_dataset.source)
    assert (request.parent, request.spec, request.config.epochs) == (parent.id, parent.spec, 3)
    assert request.config == parent.config.__class__(**{**parent.config.to_json(), "epochs": 3})
    folder = tmp_path / "child"
    write_request(folder, request)
    assert read_request(folder).parent == parent.id  # it survives the queue's round trip through request.json
    job = build_job(read_request(folder), tiny_dataset, folder, finished_run.parent)
    start = load_model(parent).state_dict()
    assert all(torch.equal(v, job.initial.state_dict()[k]) for k, v in start.items())


def test_the_train_page_continues_a_finished_run_and_charts_it_beside_its_parent(trained_run):
    at = open_page("train")
    at.query_params["run"] = trained_run
    at.run()
    at.number_input(key="more_epochs").set_value(1)
    parent_lr = open_run(runs.run_path(trained_run)).config.lr
    offered = at.select_slider(key="more_lr")
    options = [float(v) for v in offered.options]
    assert float(offered.value) == min(options, key=lambda v: abs(math.log(v * 10 / parent_lr)))  # a tenth
    at.select_slider(key="more_lr").set_value(options[0])
    at.button(key="continue_run").click().run()
    child = _watched(at)
    assert child != trained_run
    for _ in range(300):  # one epoch of the tiny data
        if runs.read_summary(runs.run_path(child)).status == "finished":
            break
        time.sleep(0.1)
    summary = runs.read_summary(runs.run_path(child))
    assert summary.status == "finished" and summary.parent == trained_run
    assert open_run(runs.run_path(child)).config.lr == options[0]  # the rate asked for
    assert [rid for rid, _ in lineage(child)] == [trained_run, child]
    at.run()
    chart = plotly_figures(at)["lineage_chart"]
    parent_epochs = len(runs.read_history(runs.run_path(trained_run)).epochs)
    xs = [trace["x"] for trace in chart["data"] if trace["name"].endswith("test")]
    assert xs == [list(range(1, parent_epochs + 1)), [parent_epochs + 1]]  # one axis: the child goes on after


def _watched(at) -> str:
    return at.query_params["run"][0] if isinstance(at.query_params["run"], list) else at.query_params["run"]
