"""The network's map of the test images: which images, their t-SNE layout, kept per run, an upload placed on it, and
the figure that draws it."""
import os

import pytest
import torch

from core.insight import feature_map as fm
from core.runs.folder import load_model, open_run, run_path
from core.training.evaluate import predict_logits
from ui.feature_map_views import feature_map_figure, picked_test_index, spread_rows

SMALL = fm.MapSettings(images=20, seed=3)  # the tiny test split has 30 images, 3 per class


@pytest.fixture
def run_and_model(trained_run):
    run = open_run(run_path(trained_run))
    return run, load_model(run)


@pytest.fixture
def drawn(run_and_model, tiny_dataset):
    run, model = run_and_model
    return run, model, fm.feature_map(run, model, tiny_dataset, SMALL)


def same_map(a: fm.FeatureMap, b: fm.FeatureMap) -> bool:
    tensors = ("indices", "xy", "labels", "predictions", "features")
    return all(torch.equal(getattr(a, t), getattr(b, t)) for t in tensors) and \
        (a.seed, a.embed_seconds, a.layout_seconds) == (b.seed, b.embed_seconds, b.layout_seconds)


# --- which images ---
def test_images_are_chosen_in_equal_shares_of_the_classes_and_by_the_seed():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 4)
    chosen = fm.choose_images(labels, 31, seed=0)
    assert len(chosen) == 31 and len(set(chosen.tolist())) == 31 and torch.equal(chosen, chosen.sort().values)
    assert torch.bincount(labels[chosen]).tolist() == [14, 13, 4]  # class 2 gives all it has, the others fill in
    assert torch.equal(fm.choose_images(labels, 31, seed=0), chosen)
    assert not torch.equal(fm.choose_images(labels, 31, seed=1), chosen)
    assert torch.bincount(labels[fm.choose_images(labels, 9, seed=5)]).tolist() == [3, 3, 3]
    assert len(fm.choose_images(labels, 1000, seed=0)) == len(labels)


def test_settings_outside_their_bounds_are_refused_by_name():
    with pytest.raises(fm.MapError, match="images must be"):
        fm.MapSettings(images=5).check()


# --- the map ---
def test_the_map_has_one_point_per_chosen_image_with_its_label_and_the_networks_answer(drawn, tiny_dataset):
    _, model, fmap = drawn
    assert len(fmap) == 20 and fmap.xy.shape == (20, 2) and fmap.xy.dtype == torch.float32
    assert torch.isfinite(fmap.xy).all() and fmap.xy.std(0).min() > 0
    assert torch.equal(fmap.indices, fm.choose_images(tiny_dataset.test_y, 20, 3))
    assert torch.bincount(fmap.labels, minlength=10).tolist() == [2] * 10
    assert torch.equal(fmap.labels, tiny_dataset.test_y[fmap.indices])
    assert torch.equal(fmap.predictions, predict_logits(model, tiny_dataset.test_x[fmap.indices]).argmax(1))
    assert fmap.features.shape == (20, 84) and fmap.features.dtype == torch.float16  # tutorial net: 84 features
    assert fmap.embed_seconds > 0 and fmap.layout_seconds > 0


@pytest.mark.parametrize("features, says", [
    (torch.zeros(50, 64), "all 50 images the same features"),  # a network whose units all died
    (torch.ones(50, 64) / 8, "all 50 images the same features"),
    (torch.full((50, 64), float("nan")), "not finite"),  # a diverged network
])
def test_features_that_cannot_be_laid_out_are_refused_before_t_sne_sees_them(features, says):
    # given these, scikit-learn's t-SNE crashed the process (a segmentation fault that took the dashboard down)
    with pytest.raises(fm.MapError, match=says):
        fm.layout(features.half(), seed=0)


def test_a_map_of_a_few_distinct_images_among_copies_is_still_drawn():
    features = torch.zeros(50, 64)
    features[0, 0] = features[1, 1] = 1
    xy = fm.layout(features.half(), seed=0)
    assert torch.isfinite(xy).all()


def test_the_same_seed_draws_the_same_map(run_and_model, tiny_dataset):
    _, model = run_and_model
    indices = fm.choose_images(tiny_dataset.test_y, 20, 3)
    first, again = (fm.compute_map(model, tiny_dataset.test_x, tiny_dataset.test_y, indices, 3) for _ in range(2))
    assert torch.equal(first.xy, again.xy) and torch.equal(first.features, again.features)


def test_the_map_is_kept_and_read_back_until_the_weights_change(drawn, tiny_dataset):
    run, model, fmap = drawn
    path = run.files.feature_map
    stamp = path.stat().st_mtime_ns
    assert same_map(fm.saved_map(run, tiny_dataset, SMALL), fmap)
    assert same_map(fm.feature_map(run, model, tiny_dataset, SMALL), fmap) and path.stat().st_mtime_ns == stamp
    assert fm.saved_map(run, tiny_dataset, fm.MapSettings(images=20, seed=4)) is None  # other settings: redrawn
    assert fm.saved_map(run, tiny_dataset, fm.MapSettings(images=10, seed=3)) is None
    weights = run.files.weights
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))  # saved again
    assert fm.saved_map(run, tiny_dataset, SMALL) is None
    redrawn = fm.feature_map(run, model, tiny_dataset, SMALL)
    assert path.stat().st_mtime_ns != stamp and same_map(fm.saved_map(run, tiny_dataset, SMALL), redrawn)
    path.write_bytes(b"garbage")
    assert fm.saved_map(run, tiny_dataset, SMALL) is None


def test_an_image_with_a_mapped_images_features_is_placed_on_that_image(drawn):
    _, _, fmap = drawn
    span = float((fmap.xy.max(0).values - fmap.xy.min(0).values).max())
    for row in (0, 7, 19):
        x, y = fm.place(fmap, fmap.features[row].float())
        assert abs(x - fmap.xy[row, 0]) < 0.02 * span and abs(y - fmap.xy[row, 1]) < 0.02 * span


def test_an_image_between_two_is_placed_between_them():
    features = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]), dim=1).half()
    fmap = fm.FeatureMap(torch.arange(3), torch.tensor([[0.0, 0.0], [10.0, 0.0], [50.0, 50.0]]),
                         torch.zeros(3, dtype=torch.long), torch.zeros(3, dtype=torch.long), features, 0, 0.0, 0.0)
    x, y = fm.place(fmap, torch.nn.functional.normalize(torch.tensor([1.0, 1.0]), dim=0), k=2)
    assert (x, y) == pytest.approx((5.0, 0.0), abs=1e-3)
    assert fm.map_neighbours(fmap, 0, 2) == [1, 2]


# --- the figure ---
def test_the_figure_has_one_trace_per_class_whose_points_carry_their_test_image(drawn, tiny_dataset):
    _, _, fmap = drawn
    classes = list(tiny_dataset.classes)
    figure = feature_map_figure(fmap, classes, upload=(1.0, 2.0, "cat")).to_dict()
    *traces, star = figure["data"]
    assert [t["name"] for t in traces] == classes and star["marker"]["symbol"] == "star" and "cat" in star["name"]
    for c, trace in enumerate(traces):
        for (index, row), x, symbol in zip(trace["customdata"], trace["x"], trace["marker"]["symbol"]):
            assert int(tiny_dataset.test_y[index]) == c and fmap.indices[row] == index and fmap.xy[row, 0] == x
            assert symbol == ("circle" if fmap.predictions[row] == c else "x")
        assert len(trace["customdata"]) == 2
    assert "images" not in figure["layout"] or not figure["layout"]["images"]
    pictured = feature_map_figure(fmap, classes, thumbnails=tiny_dataset.test_x).to_dict()
    pictures = pictured["layout"]["images"]
    assert len(pictures) == len(spread_rows(fmap.xy)) > 0 and pictures[0]["source"].startswith("data:image/png;base64,")


def test_a_chart_click_names_its_test_image():
    assert picked_test_index([{"curve_number": 3, "point_index": 1, "customdata": [17, 4]}]) == 17
    assert picked_test_index([{"curve_number": 10, "point_index": 0}]) is None  # the upload's star
    assert picked_test_index([]) is None


def test_pictures_are_spread_one_per_occupied_cell():
    xy = torch.tensor([[0.0, 0.0], [0.01, 0.0], [1.0, 1.0], [0.0, 1.0]])
    assert spread_rows(xy, cells=2) == [0, 2, 3]


# --- on a page ---
def _page():
    import os

    from core.data.sources import load
    from core.runs.folder import load_model, open_run, run_path
    from ui.feature_map_views import feature_map_ui

    run, dataset = open_run(run_path(os.environ["FEATURE_MAP_RUN"])), load(os.environ["CIFAR10_DATA"])
    upload = dataset.test_x[int(os.environ["FEATURE_MAP_UPLOAD"])] if "FEATURE_MAP_UPLOAD" in os.environ else None
    feature_map_ui(run.id, run, load_model(run), dataset, upload)


def test_draw_the_map_draws_it_once_and_later_visits_read_it_with_an_upload_as_a_star(trained_run, monkeypatch):
    from conftest import plotly_figures
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("FEATURE_MAP_RUN", trained_run)
    at = AppTest.from_function(_page, default_timeout=60).run()
    assert not at.exception and not at.get("plotly_chart")
    at.button(key="feature_map_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(at.get("plotly_chart")) == 1
    assert any("30 test images, drawn in" in c.value for c in at.caption)  # all 30 of the tiny test split
    again = AppTest.from_function(_page, default_timeout=60).run()
    assert not again.exception and len(again.get("plotly_chart")) == 1 and not again.button
    monkeypatch.setenv("FEATURE_MAP_UPLOAD", "4")
    upload = AppTest.from_function(_page, default_timeout=60).run()
    *traces, star = plotly_figures(upload)["feature_map_chart"]["data"]
    assert star["marker"]["symbol"] == "star" and any("The star is your photo" in c.value for c in upload.caption)
    [(x, y)] = [(x, y) for t in traces for (index, _), x, y in zip(t["customdata"], t["x"], t["y"]) if index == 4]
    assert (star["x"][0], star["y"][0]) == pytest.approx((x, y), abs=0.05)  # test image 4 is on the map: its spot
