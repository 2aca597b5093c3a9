"""Weight and gradient histograms: recorded per layer per epoch while a run trains, read back (a damaged line
skipped), and shown on the Train page with an epoch slider."""
from conftest import SMALL_CONFIG, SMALL_SPEC, open_page, plotly_figures

from core.jobs.registry import run_blocking
from core.models.layers import Conv2d, Linear
from core.runs import histograms
from core.runs.layout import RunFolder


def test_every_epoch_records_each_learned_layers_weights_and_last_gradients(tiny_dataset, tmp_path):
    run_blocking(SMALL_SPEC, tiny_dataset, SMALL_CONFIG, tmp_path / "run")
    recorded = histograms.read(tmp_path / "run")
    assert sorted(recorded) == list(range(1, SMALL_CONFIG.epochs + 1))
    learned = [i for i, layer in enumerate(SMALL_SPEC.layers) if isinstance(layer, (Conv2d, Linear))]
    for epoch, hists in recorded.items():
        assert {(h.layer.split(".")[0], h.kind) for h in hists} == {
            (str(i + 1), kind) for i in learned for kind in ("weight", "gradient")}
        for h in hists:
            assert len(h.counts) == histograms.BINS and h.low < h.high
    conv = next(h for h in recorded[1] if h.kind == "weight" and "Conv2d" in h.layer)
    assert sum(conv.counts) == 8 * 3 * 3 * 3  # every weight of Conv2d(8, 3x3) on RGB counted once
    first, last = (next(h for h in recorded[e] if h.kind == "weight" and "Conv2d" in h.layer) for e in (1, 2))
    assert first != last  # the weights moved between epochs


def test_a_line_cut_short_by_a_crash_is_skipped(tiny_dataset, tmp_path):
    run_blocking(SMALL_SPEC, tiny_dataset, SMALL_CONFIG, tmp_path / "run")
    with open(RunFolder(tmp_path / "run").histograms, "a") as f:
        f.write('{"epoch": 3, "histograms": [{"layer": ')
    assert sorted(histograms.read(tmp_path / "run")) == [1, 2]


def test_the_train_page_shows_a_layers_histograms_at_the_chosen_epoch(app_env, tiny_dataset):
    from core.runs.folder import run_path

    run_id = "20260101-000000-small-hist01"
    run_blocking(SMALL_SPEC, tiny_dataset, SMALL_CONFIG, run_path(run_id))
    at = open_page("train")
    at.query_params["run"] = run_id
    at.run()
    chart = plotly_figures(at)["hist_chart"]
    assert [t["name"] for t in chart["data"]] == ["weight", "gradient"]
    at.select_slider(key="hist_epoch").set_value(1).run()
    first = plotly_figures(at)["hist_chart"]["data"][0]["y"]
    expected = next(h for h in histograms.read(run_path(run_id))[1]
                    if h.kind == "weight" and h.layer == at.selectbox(key="hist_layer").value).counts
    assert list(first) == expected
