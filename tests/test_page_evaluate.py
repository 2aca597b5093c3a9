"""Evaluate page: per-class figures of a saved run, the confusion matrix and its images, and uploads."""
import re

import pytest
from conftest import open_page, plotly_figures, png_bytes

from core.runs import folder as runs


def test_with_no_runs_of_ones_own_the_starter_answers_and_fast_is_one_click_away(app_env):
    at = open_page("evaluate")
    assert "No trained runs of your own yet: the starter shipped with the studio answers now" in at.info[0].value
    assert at.selectbox(key="eval_run").value == "starter-accurate"
    assert not at.exception and at.metric[0].label == "Test accuracy"  # evaluated at once, on this data
    button = at.button(key="eval_run_fast_now")
    assert button.label.startswith("Train `fast` now (8 epochs: not timed on this machine yet)")
    button.click().run()
    assert not at.exception, [e.message for e in at.exception]
    run_id = at.session_state.job_id
    assert at.session_state.train_model == "fast" and at.get("title")[0].value == "Train"
    assert runs.read_summary(runs.run_path(run_id)).model == "fast"


def test_per_class_accuracy_precision_recall_and_confusion(trained_run):
    at = open_page("evaluate")
    figs = plotly_figures(at)
    assert figs["per_class_chart"]["data"][0]["x"][:2] == ["airplane", "automobile"]
    assert len(figs["pr_chart"]["data"]) == 2
    confusion = figs["confusion_chart"]["data"][0]["z"]
    assert sum(map(sum, confusion)) == 30
    accuracy = float(at.metric[0].value.rstrip("%")) / 100
    assert accuracy == pytest.approx(sum(confusion[i][i] for i in range(10)) / 30, abs=0.001)


def _cell_images(at) -> list[str]:
    return [img.proto.imgs[0].caption for img in at.get("image")]


def test_choosing_a_confusion_cell_shows_exactly_its_images(trained_run):
    """For the busiest cell and for an empty one, the caption's count and the images shown match the matrix."""
    at = open_page("evaluate")
    confusion = plotly_figures(at)["confusion_chart"]["data"][0]["z"]
    classes = plotly_figures(at)["confusion_chart"]["data"][0]["x"]
    cells = [(confusion[i][j], i, j) for i in range(10) for j in range(10)]
    busiest, empty = max(cells), min(cells)
    assert busiest[0] > 0 and empty[0] == 0
    for count, i, j in (busiest, empty):
        at.selectbox(key="cm_true").set_value(classes[i]).run()
        at.selectbox(key="cm_pred").set_value(classes[j]).run()
        assert any(c.value.startswith(f"{count} test images are {classes[i]} and were predicted {classes[j]}")
                   for c in at.caption)
        shown = [c for c in _cell_images(at) if re.fullmatch(rf"{classes[j]} \d+%", c)]  # "cat 87%"
        assert len(shown) == min(count, 30)


def test_the_confusion_chart_can_be_clicked_cell_by_cell(trained_run):
    """Every cell carries a selectable marker at its centre with its count (heatmaps alone report no click)."""
    at = open_page("evaluate")
    heatmap, cells = plotly_figures(at)["confusion_chart"]["data"]
    assert cells["type"] == "scatter" and len(cells["x"]) == 100
    for x, y, n in zip(cells["x"], cells["y"], cells["customdata"]):
        assert heatmap["z"][heatmap["y"].index(y)][heatmap["x"].index(x)] == n


def test_an_uploaded_png_gets_a_top5_chart_and_a_caption(trained_run):
    at = open_page("evaluate")
    at.file_uploader(key="photo_upload").upload("photo.png", png_bytes(mode="RGB", size=(200, 120)), "image/png").run()
    assert not at.error
    top = plotly_figures(at)["topk_chart"]
    assert len(top["data"][0]["y"]) == 5
    assert any(m.value.startswith("### ") and m.value.endswith(").") or "not sure" in m.value for m in at.markdown)


def test_a_text_file_named_png_is_refused(trained_run):
    at = open_page("evaluate")
    at.file_uploader(key="photo_upload").upload("fake.png", b"just text", "image/png").run()
    assert "fake.png is not an image this app can read" in at.error[0].value
    assert "topk_chart" not in plotly_figures(at)


def test_a_confidently_wrong_image_is_explained_for_its_guess_and_its_truth(trained_run):
    at = open_page("evaluate")
    captions = [img.proto.imgs[0].caption for img in at.get("image")]
    evidence = [c for c in captions if c.startswith("evidence for ")]
    assert any("→" in c for c in captions), "the two-epoch tiny run should get some test images wrong"
    assert len(evidence) == 2 and evidence[0] != evidence[1]


def test_calibration_shows_reliability_and_the_abstain_curve_and_the_threshold_moves_along_it(trained_run):
    at = open_page("evaluate")
    figs = plotly_figures(at)
    names = [t["name"] for t in figs["reliability_chart"]["data"]]
    assert names[0] == "perfectly calibrated" and names[1].startswith("before (ECE") and names[2].startswith("after")
    assert "T = " in next(c.value for c in at.caption if "temperature scaling" in c.value)
    assert "fitted on 10 training images it never trained on" in " ".join(c.value for c in at.caption)
    curve = figs["abstain_chart"]["data"]
    at.slider(key="abstain_threshold").set_value(0.0).run()
    assert any(c.value.startswith("At 0%: it answers 100.0% of the test images") for c in at.caption)
    assert plotly_figures(at)["abstain_chart"]["data"][1]["x"] == [100.0] and curve[0]["x"][0] == 100.0


def test_below_the_threshold_an_upload_is_answered_not_sure(trained_run):
    at = open_page("evaluate")
    at.slider(key="abstain_threshold").set_value(0.99).run()
    at.file_uploader(key="photo_upload").upload("photo.png", png_bytes(mode="RGB", size=(64, 64)), "image/png").run()
    assert any(m.value.startswith("### Not sure: nothing here is 99% likely") for m in at.markdown)


def test_a_run_without_held_out_images_says_so(app_env):
    from core.data.sources import load
    from core.jobs.registry import TrainingJob
    from core.runs.folder import run_path
    from core.training.config import TrainConfig
    from core.training.presets import PRESETS

    TrainingJob(PRESETS["tutorial"].spec, load(str(app_env)), TrainConfig(epochs=1, batch_size=10, device="cpu"),
                run_path("20260101-000000-tutorial-all000")).start().join(60)
    at = open_page("evaluate")
    assert any("trained on every training image" in i.value for i in at.info)
    assert at.metric[1].value == "1.00"  # the temperature stays 1


def test_measuring_robustness_draws_accuracy_per_corruption_and_severity(trained_run):
    from core.data.corruptions import CORRUPTIONS

    at = open_page("evaluate")
    assert any("Not measured yet" in i.value for i in at.info)
    examples = [c for c in _cell_images(at) if ":" in c]
    assert len(examples) == 1 + len(CORRUPTIONS) and examples[0].startswith("clean: ")
    at.button(key="robust_go").click().run()
    assert not at.exception and not at.error
    figure = plotly_figures(at)["robustness_chart"]
    heat = figure["data"][0]
    assert figure["layout"]["xaxis"]["type"] == "category"  # "clean" and the severities, each a column
    assert len(heat["y"]) == len(CORRUPTIONS) and heat["x"] == ["clean", "1", "2", "3", "4", "5"]
    assert all(0 <= v <= 100 for row in heat["z"] for v in row)
    clean = float(next(m for m in at.metric if m.label == "Clean (no TTA)").value.rstrip("%"))
    assert all(row[0] == pytest.approx(clean, abs=0.05) for row in heat["z"])
    at = open_page("evaluate")  # kept with the run: shown at once next time
    assert "robustness_chart" in plotly_figures(at)
    at.select_slider(key="robust_severity").set_value(5).run()
    assert not at.exception


def _keep_a_worse_best_epoch(run_id: str) -> None:
    """The run as if it had kept epoch 1 as its best: its weights zeroed but for the last bias's truck score (a
    network that answers truck for every image), and a summary naming it."""
    import json

    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    folder = runs.run_path(run_id)
    with safe_open(folder / "weights.safetensors", "pt") as f:
        tensors, meta = {k: torch.zeros_like(f.get_tensor(k)) for k in f.keys()}, f.metadata()
    last_bias = [k for k in tensors if k.endswith("bias") and tensors[k].shape == (10,)][-1]
    tensors[last_bias][9] = 1.0
    save_file(tensors, folder / "best.safetensors", metadata=meta)
    summary = json.loads((folder / "summary.json").read_text())
    (folder / "summary.json").write_text(json.dumps({**summary, "best_epoch": 1, "best_holdout_accuracy": 0.5}))


def test_a_run_that_kept_its_best_epoch_can_be_evaluated_with_either_weights(trained_run):
    _keep_a_worse_best_epoch(trained_run)
    at = open_page("evaluate")
    def truck_column() -> int:
        return sum(row[9] for row in plotly_figures(at)["confusion_chart"]["data"][0]["z"])

    before = truck_column()
    at.segmented_control(key="eval_weights").set_value("best epoch").run()
    assert not at.exception
    assert truck_column() == 30 != before  # the kept "best" network says truck for all 30 test images


def test_the_take_home_buttons_are_offered_for_the_run(trained_run):
    at = open_page("evaluate")
    keys = {b.key for b in at.get("download_button")}
    assert {f"take_home_weights_{trained_run}", f"take_home_onnx_{trained_run}",
            f"take_home_script_{trained_run}"} <= keys
