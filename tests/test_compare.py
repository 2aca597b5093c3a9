"""Runs compared by their settings: the settings that differ and what each run reached, as a table and a
parallel-coordinates chart on the Train page."""
import json

from conftest import copy_run, open_page, plotly_figures

from core.runs.compare import FIGURES, compare_runs
from core.runs.folder import run_path


def _variant(trained, app_env, run_id: str, **settings) -> str:
    folder = copy_run(trained, run_path(run_id), str(app_env))
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **settings}))
    return folder.name


def test_only_the_settings_that_differ_are_compared_beside_each_runs_figures(app_env, tutorial_run_once):
    a = _variant(tutorial_run_once, app_env, "20260101-000000-tutorial-aaaaaa")
    b = _variant(tutorial_run_once, app_env, "20260101-000001-tutorial-bbbbbb", lr=0.2, flip=True)
    c = _variant(tutorial_run_once, app_env, "20260101-000002-tutorial-cccccc", lr=0.01)
    comparison = compare_runs([run_path(r) for r in (a, b, c)])
    assert comparison.runs == [a, b, c] and comparison.statuses == ["finished"] * 3
    assert set(comparison.settings) == {"lr", "flip"}
    assert [v["lr"] for v in comparison.values] == [json.loads((run_path(a) / "config.json").read_text())["lr"],
                                                    0.2, 0.01]
    assert [v["flip"] for v in comparison.values] == [False, True, False]
    assert all(set(f) == set(FIGURES) for f in comparison.figures)
    assert comparison.figures[0]["test accuracy"] is not None
    assert compare_runs([run_path(a), run_path(a)]).settings == []  # the same run twice: nothing differs


def test_the_train_page_tables_and_charts_the_settings_of_the_runs_picked(app_env, tutorial_run_once):
    a = _variant(tutorial_run_once, app_env, "20260101-000000-tutorial-aaaaaa")
    b = _variant(tutorial_run_once, app_env, "20260101-000001-tutorial-bbbbbb", lr=0.2, optimizer="adam")
    at = open_page("train")
    at.multiselect(key="compare_runs").set_value([a, b]).run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert list(frame["run"]) == [a, b] and list(frame["optimizer"]) == ["sgd", "adam"]
    parcoords = plotly_figures(at)["cmp_parcoords"]["data"][0]
    labels = [d["label"] for d in parcoords["dimensions"]]
    assert set(labels) == {"lr", "optimizer", "test accuracy (%)"}
    lr_axis = next(d for d in parcoords["dimensions"] if d["label"] == "lr")
    assert lr_axis["values"][1] == 0.2
