"""`python -m bench --quick` runs end to end on generated data and reports every section in its JSON line."""
import json

import pytest
import torch

from bench.__main__ import main


@pytest.mark.slow
def test_quick_benchmark_reports_every_section(data_root, tmp_path, capsys):
    from conftest import write_tree

    tree = write_tree(tmp_path / "tree", per_class=(40, 10))
    report = main(["--quick", "--data", str(tree)])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == json.loads(json.dumps(report))
    same = report["same_model"]
    # the tutorial trained 2 quick segments of min(1500, 400 // 4) batches of 4 images, and learned the tiny data
    assert same["tutorial_images"] == 2 * 100 * 4
    assert same["tutorial_images_per_second"] > 0 and same["engine_images_per_second"] > 0
    assert 0.1 < same["tutorial_test_accuracy"] <= 1
    target = same["tutorial_test_accuracy"]
    rows = {row["name"]: row for row in report["time_to_accuracy"]}
    assert set(rows) == {"seed (engine defaults, batch 128)", "fast"}
    for row in rows.values():  # "reached" means what it says, and a speed-up is reported exactly when it is
        assert row["reached"] == (row["test_accuracy"] >= target)
        assert (row["speedup_vs_tutorial"] is not None) == row["reached"]
        assert all(t["train_pflop"] > 0 for t in row["tried"])  # every contender's training FLOPs, counted
    fast = rows["fast"]["tried"][0]  # a quarter epoch of fast: a quarter of the 400 images at fast's cost per image
    from core.training.flops import training_flops_per_image
    from core.training.presets import PRESETS as presets

    assert fast["train_pflop"] == pytest.approx(100 * training_flops_per_image(presets["fast"].spec) / 1e15)
    # one round each over the 400 training images: at batch 512 one step (fast), at batch 4 a hundred (seed)
    for key, steps in (("dashboard_overhead", 1), ("dashboard_overhead_batch4", 100)):
        row = report[key]
        assert len(row["rounds"]["dashboard"]) == len(row["rounds"]["cli"]) == 1 and row["steps"] == steps
        assert row["ratio"] == row["ratios"][0] > 0
    assert report["data_timing"]["cached_load_seconds"] >= 0
    assert report["machine"]["cores"] >= 1 and report["peak_memory_mb"] > 0
    # the chart's curves: the tutorial measured after each segment (its last point is the target), seed per epoch
    seconds = [p["train_seconds"] for p in same["tutorial_curve"]]
    assert len(seconds) == 2 and 0 < seconds[0] < seconds[1] == same["tutorial_seconds"]
    assert same["tutorial_curve"][-1]["test_accuracy"] == target
    assert len(report["seed_curve"]) == 1 and 0 < report["seed_curve"][0]["train_seconds"]


@pytest.mark.slow
def test_the_chart_is_drawn_from_the_benchmarks_json(tmp_path):
    """`python -m bench.chart RESULT.json` draws one line per contender the JSON holds, and writes a PNG."""
    from bench.chart import curves
    from bench.chart import main as chart

    point = lambda s, a: {"train_seconds": s, "test_accuracy": a}  # noqa: E731
    report = {"same_model": {"tutorial_curve": [point(0, 0.1), point(60, 0.5), point(120, 0.61)],
                             "tutorial_test_accuracy": 0.61},
              "seed_curve": [point(0, 0.1), point(3, 0.55), point(6, 0.63)],
              "given_tutorial_time": [{"name": "fast", "curve": [point(0, 0.1), point(15, 0.8)]},
                                      {"name": "accurate", "curve": [point(0, 0.1), point(40, 0.85)]}]}
    assert list(curves(report)) == ["tutorial pipeline (batch 4, SGD 0.001)",
                                    "seed, engine defaults (batch 128, one-cycle)", "fast preset", "accurate preset"]
    result = tmp_path / "bench.txt"
    result.write_text("progress line\n" + json.dumps(report) + "\n")
    png = chart([str(result), "--out", str(tmp_path / "chart.png")])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


@pytest.mark.slow
def test_captioning_benchmark_reports_a_curve_and_the_template(data_root, tmp_path, capsys):
    """`python -m bench.captioning --quick` trains the page's captioner on generated data: one curve point per epoch,
    in rising seconds, and the template describer scored on the same scenes with the encoder's classifier."""
    from conftest import write_tree

    from bench.captioning import main as captioning
    from core.caption.scenes import evaluation_scenes
    from core.cli.main import main as cli
    from core.data import sources as data

    tree = write_tree(tmp_path / "tree", per_class=(12, 4))
    assert cli(["train", "--data", str(tree), "--model", "tutorial", "--epochs", "1", "--batch-size", "10",
                "--out", str(tmp_path / "clf")]) == 0
    report = captioning(["--quick", "--data", str(tree), "--encoder-run", str(tmp_path / "clf")])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == json.loads(json.dumps(report))
    seconds = [row["seconds"] for row in report["curve"]]
    assert [row["epoch"] for row in report["curve"]] == [1, 2] and seconds == sorted(seconds) and seconds[0] > 0
    assert report["encoder"] == "clf" and 0 <= report["encoder_single_image_accuracy"] <= 1
    assert report["adapted"].startswith("encoder adapted on 64 training scenes")  # the default mode adapts first
    for scores in (report["template"], report["template_held_out"], *report["curve"]):
        assert all(0 <= scores[k] <= 1 for k in ("exact", "precision", "recall", "bleu"))
    # every object of the test scenes is counted once, under its side, for the captioner and its pictures alone
    test_y = data.load(str(tree)).test_y
    scenes = evaluation_scenes(test_y, 10, report["config"]["test_scenes"])
    sides = [obj.box[2] - obj.box[0] for scene in scenes for obj in scene.objects]
    assert {side: row["objects"] for side, row in report["by_size"].items()} == \
        {str(side): sides.count(side) for side in set(sides)}
    for row in report["by_size"].values():
        assert all(0 <= row[k] <= 1 for k in ("captioner", "single", "single_tta"))
    at_place = sum(row["captioner"] * row["objects"] for row in report["by_size"].values()) / len(sides)
    assert at_place - 1e-9 <= report["classes_named"] <= 1  # a class named at its place is named at some place


def test_benchmarks_default_to_the_official_copy_when_it_is_there(monkeypatch, tmp_path):
    """Figures describe the official pixels: without --data a benchmark takes CIFAR10_DATA, else the offline copy of the
    official release beside the checkout, else the official download."""
    import bench
    monkeypatch.delenv("CIFAR10_DATA", raising=False)
    copy = tmp_path / "cifar-10-python-rebuilt.tar.gz"
    monkeypatch.setattr(bench, "OFFICIAL_COPY", copy)
    assert bench.default_data() == "cifar10"
    copy.write_bytes(b"x")
    assert bench.default_data() == str(copy)
    monkeypatch.setenv("CIFAR10_DATA", "/some/folder")
    assert bench.default_data() == "/some/folder"


@pytest.mark.slow
def test_the_caption_probe_classifies_each_scene_object_three_ways(data_root, tmp_path, capsys):
    """`python -m bench.caption_probe`: a 32-pixel object is pasted into its scene unscaled, so its crop is exactly
    its original picture and the two must be classified alike, whatever the head (max-pooled or flattened), as
    trained or adapted to scenes first."""
    from conftest import write_tree

    from bench.caption_probe import main as probe
    from core.cli.main import main as cli

    tree = write_tree(tmp_path / "tree", per_class=(12, 4))
    for model in ("fast", "tutorial"):
        assert cli(["train", "--data", str(tree), "--model", model, "--epochs", "1", "--batch-size", "10",
                    "--out", str(tmp_path / model)]) == 0
    for model, adapt in (("fast", "0"), ("tutorial", "0"), ("tutorial", "128")):
        report = probe(["--data", str(tree), "--run", str(tmp_path / model), "--scenes", "40", "--adapt-scenes", adapt])
        assert report["objects"] == sum(kind["objects"] for kind in report["by_kind"].values()) > 40
        full_size = [kind for name, kind in report["by_kind"].items() if name.endswith(", 32 px")]
        assert full_size and all(kind["crop"] == kind["single"] for kind in full_size)
        assert all(0 <= report[k] <= 1 for k in ("single", "crop", "grid")) and report["adapt_scenes"] == int(adapt)
    with pytest.raises(SystemExit, match="^error: tree: spec.json is missing$"):  # a data folder, not a run
        probe(["--data", str(tree), "--run", str(tree), "--scenes", "8"])


def test_the_baseline_reads_the_official_format_through_torchvision_like_the_engine(data_root, tmp_path):
    """The tutorial's own reader (torchvision's CIFAR10, its md5 check bypassed: the offline rebuild has placeholder
    file names) over an official-format archive gives the engine's pixels and labels, in the same order."""
    import shutil
    import tarfile

    from conftest import write_batches

    from bench.tutorial import tutorial_datasets
    from core.data import sources as data

    root = write_batches(tmp_path / "release")
    for k in range(2, 6):  # the release has five training batches; torchvision opens each
        shutil.copy(root / "cifar-10-batches-py" / "data_batch_1", root / "cifar-10-batches-py" / f"data_batch_{k}")
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    trainset, testset = tutorial_datasets(str(archive))
    engine = data.load(str(archive))
    assert (len(trainset), len(testset)) == (len(engine.train_y), len(engine.test_y)) == (300, 30)
    for i in (0, 77, 299):
        pixels, label = trainset[i]
        assert label == int(engine.train_y[i])
        assert torch.allclose((pixels * 0.5 + 0.5) * 255, engine.train_x[i].float(), atol=1e-3)


@pytest.mark.slow
def test_the_robustness_benchmark_trains_presets_and_scores_them_on_the_same_corrupted_sets(data_root, tmp_path,
                                                                                             capsys):
    from conftest import write_tree

    from bench.robustness import main as robustness
    from core.data.corruptions import CORRUPTIONS

    tree = write_tree(tmp_path / "tree", per_class=(12, 4))
    report = robustness(["--quick", "--data", str(tree), "--presets", "tutorial", "robust", "--keep",
                         str(tmp_path / "runs")])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == json.loads(json.dumps(report))
    assert set(report["models"]) == {"tutorial", "robust"} and report["images"] == 40 and report["tta"] == 0
    for scores in report["models"].values():
        assert set(scores["accuracy"]) == set(CORRUPTIONS) and 0 <= scores["clean"] <= 1
        assert scores["clean_all"] == scores["clean"]  # every test image was in the corrupted sets too
        assert scores["train_seconds"] > 0
    # held-out images: the quick run kept a fifth of the 120 out (24), and --split holdout scores exactly those
    held = robustness(["--presets", "--runs", str(tmp_path / "runs" / "robust"), "--split", "holdout", "--data",
                       str(tree)])
    assert held["split"] == "holdout" and held["images"] == held["all_images"] == 24
    # corrupted sets of the first 10 only; clean accuracy still on all 24
    fewer = robustness(["--presets", "--runs", str(tmp_path / "runs" / "robust"), "--split", "holdout", "--images",
                        "10", "--data", str(tree)])
    assert fewer["images"] == 10 and fewer["all_images"] == 24
    assert fewer["models"]["robust"]["clean_all"] == held["models"]["robust"]["clean"]
    # a run that held nothing out has no held-out images to be scored on
    with pytest.raises(SystemExit, match="held out no training images"):
        robustness(["--quick", "--data", str(tree), "--presets", "--variant", "all:tutorial:holdout=0", "--split",
                    "holdout"])


def test_runs_with_different_holdouts_are_scored_on_the_images_all_of_them_held_out():
    from types import SimpleNamespace

    import torch

    from bench.robustness import held_out
    from core.training.train import holdout_split

    def run(holdout):
        return SimpleNamespace(id=f"h{holdout}", config=SimpleNamespace(holdout=holdout, limit_train=0))

    dataset = SimpleNamespace(train_x=torch.arange(1000), train_y=torch.arange(1000) % 10)
    small, big = holdout_split(1000, 40)[1], holdout_split(1000, 200)[1]
    assert set(small.tolist()) < set(big.tolist())  # a bigger holdout contains the smaller: the slices nest
    images, labels = held_out(dataset, [run(200), run(40), run(100)])
    assert images.tolist() == small.tolist() and labels.tolist() == (small % 10).tolist()


@pytest.mark.slow
def test_robustness_variants_change_only_their_settings_and_each_seed_is_its_own_run(data_root, tmp_path):
    from dataclasses import replace

    from conftest import write_tree

    from bench.robustness import main as robustness
    from core.training.config import TrainConfig
    from core.training.presets import PRESETS

    tree = write_tree(tmp_path / "tree", per_class=(12, 4))
    report = robustness(["--quick", "--data", str(tree), "--presets", "fast", "--seeds", "2", "--keep",
                         str(tmp_path / "runs"), "--variant", "soft:robust:photo_share=0.3,flip=false"])
    assert set(report["models"]) == {"fast-seed0", "fast-seed1", "soft-seed0", "soft-seed1"}
    assert report["variants"]["soft"] == {"preset": "robust", "changes": {"photo_share": 0.3, "flip": False}}
    robust = PRESETS["robust"].config
    for seed in (0, 1):
        saved = TrainConfig.from_json(json.loads((tmp_path / "runs" / f"soft-seed{seed}" / "config.json").read_text()))
        # the quick run's epochs and holdout aside, the preset with the two settings changed and its seed counted up
        assert saved == replace(robust, photo_share=0.3, flip=False, seed=robust.seed + seed, device="cpu",
                                epochs=saved.epochs, limit_train=0, holdout=saved.holdout)
    for label in ("fast", "soft"):
        runs = [report["models"][f"{label}-seed{s}"] for s in (0, 1)]
        assert report["seed_means"][label] == pytest.approx({what: (runs[0][what] + runs[1][what]) / 2
                                                             for what in ("clean", "mean", "clean_all")})


@pytest.mark.parametrize("text, problem", [
    ("soft", "expected LABEL:PRESET"), ("soft:nosuch:noise=0.1", "expected LABEL:PRESET"),
    (":robust:noise=0.1", "expected LABEL:PRESET"), ("soft:robust:colour=0.1", "'colour' is not a training setting"),
    ("soft:robust:photo_share=2", "photo_share"), ("soft:robust:noise=lots", "noise takes a float, not 'lots'"),
    ("soft:robust:augmentation=1", "'augmentation' is not a training setting"),  # a property, not a field
    ("soft:robust:check=1", "'check' is not a training setting"),  # a method
])
def test_a_variant_names_a_preset_and_real_settings_in_their_ranges(text, problem):
    from argparse import ArgumentTypeError

    from bench.robustness import Variant

    with pytest.raises(ArgumentTypeError, match=problem):
        Variant.parse(text)


def test_the_robustness_benchmark_refuses_a_label_twice_and_a_missing_gpu_before_loading_data(monkeypatch, capsys):
    from bench.robustness import main as robustness

    monkeypatch.setattr("core.data.sources.load", lambda *a, **k: pytest.fail("no data is read for a refused command"))
    with pytest.raises(SystemExit):
        robustness(["--presets", "fast", "--variant", "fast:robust:noise=0.1"])
    assert "each preset and variant needs its own label: fast, fast" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        robustness(["--presets", "fast", "--seeds", "0"])
    assert "--seeds must be at least 1, not 0" in capsys.readouterr().err
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(SystemExit):
        robustness(["--presets", "fast", "--device", "cuda"])
    assert "no CUDA GPU is available here" in capsys.readouterr().err


def test_the_upload_benchmark_scores_every_fit_and_their_average_with_and_without_tta(data_root, tmp_path, capsys):
    from conftest import write_tree

    from bench.uploads import main as uploads
    from core.cli.main import main as cli
    from core.data.images import FITS

    tree = write_tree(tmp_path / "tree", per_class=(12, 4))
    assert cli(["train", "--data", str(tree), "--model", "tutorial", "--epochs", "1", "--batch-size", "10",
                "--out", str(tmp_path / "clf")]) == 0
    report = uploads(["--run", str(tmp_path / "clf"), "--data", str(tree), "--images", "40"])
    [scores] = report["runs"].values()
    assert set(scores["scores"]) == {f"{kind}/{fit}" for kind in ("wider", "tighter") for fit in (*FITS, "all")}
    assert all(0 <= v <= 1 for s in scores["scores"].values() for v in s.values())
    assert set(scores["mean_by_fit"]) == {*FITS, "all"}


@pytest.mark.slow
def test_the_varied_baseline_scores_both_describers_on_every_varied_scene_once_per_group(data_root, tmp_path):
    """`python -m bench.varied_baseline`: the template describer and a captioner on the fixed varied test scenes; every
    scene lands in exactly one size group and one count group, and every object in one size group."""
    from conftest import write_tree

    from bench.varied_baseline import main as baseline
    from core.caption.varied import varied_test_scenes
    from core.cli.main import main as cli
    from core.data.sources import load

    tree = write_tree(tmp_path / "tree", per_class=(12, 4))
    assert cli(["train", "--data", str(tree), "--model", "tutorial", "--epochs", "1", "--batch-size", "10",
                "--out", str(tmp_path / "cls")]) == 0
    assert cli(["caption-train", "--data", str(tree), "--epochs", "1", "--scenes-per-epoch", "64", "--batch-size",
                "32", "--hidden", "64", "--test-scenes", "24", "--held-out-scenes", "16", "--device", "cpu",
                "--out", str(tmp_path / "cap")]) == 0
    report = baseline(["--data", str(tree), "--classifier-run", str(tmp_path / "cls"), "--captioner-run",
                       str(tmp_path / "cap"), "--scenes", "30", "--pairs", "6", "--json"])
    scenes = varied_test_scenes(load(str(tree)).test_y, 10)[:30]
    for describer in ("template", "captioner"):
        scores = report[describer]
        assert report["scenes"] == scores["overall"]["scenes"] == 30
        assert sum(g["scenes"] for g in scores["by_size"].values()) == 30
        assert sum(g["scenes"] for g in scores["by_count"].values()) == 30
        assert {int(n) for n in scores["by_count"]} == {len(s.objects) for s in scenes}
        assert sum(g["objects"] for g in scores["objects_by_size"].values()) == sum(len(s.objects) for s in scenes)
        assert all(0 <= g["named"] <= g["objects"] for g in scores["objects_by_size"].values())
        assert all(0 <= scores["overall"][k] <= 1 for k in ("exact", "precision", "recall", "bleu"))
    assert set(report["pairs"]) == {"32", "64", "96"}
    assert all(r["captioner"]["scenes"] == r["template"]["scenes"] == 6 for r in report["pairs"].values())


@pytest.mark.slow
def test_template_scales_are_compared_on_training_scenes_only(data_root, tmp_path, monkeypatch):
    """`python -m bench.template_scales`: every candidate set scored on the same scenes, drawn from training pictures
    (the test pictures are swapped for noise: the scores cannot depend on them)."""
    from conftest import write_tree

    import core.data.sources as sources
    from bench.template_scales import CANDIDATES
    from bench.template_scales import main as compare
    from core.cli.main import main as cli

    tree = write_tree(tmp_path / "tree", per_class=(12, 4))
    assert cli(["train", "--data", str(tree), "--model", "tutorial", "--epochs", "1", "--batch-size", "10",
                "--out", str(tmp_path / "cls")]) == 0
    args = ["--data", str(tree), "--classifier-run", str(tmp_path / "cls"), "--scenes", "6"]
    first = compare(args)
    real = sources.load
    monkeypatch.setattr(sources, "load", lambda *a, **k: _noisy_test_split(real(*a, **k)))
    again = compare(args)
    assert [r["scales"] for r in first["rows"]] == list(CANDIDATES) and first["scenes"] == 6
    assert all(0 <= r[k] <= 1 for r in first["rows"] for k in ("exact", "recall", "no_small_exact"))
    assert [r["recall"] for r in first["rows"]] == [r["recall"] for r in again["rows"]]


def _noisy_test_split(dataset):
    from dataclasses import replace

    import torch

    return replace(dataset, test_x=torch.randint(0, 256, dataset.test_x.shape, dtype=torch.uint8))


@pytest.mark.parametrize("side", [32, 64, 96])
def test_pictures_side_by_side_are_the_row_their_captions_say(side):
    from bench.varied_baseline import side_by_side
    from core.caption.arrangement import arrangement

    labels = torch.arange(40) % 10
    scenes = side_by_side(labels, 10, side, 20)
    assert side_by_side(labels, 10, side, 20) == scenes  # seeded
    for scene in scenes:
        reading = arrangement([o.box for o in scene.objects], scene.width, scene.height)
        assert (scene.width, scene.height) == (2 * side, side)
        assert (reading.layout, reading.places) == ("row2", ("left", "right"))
        assert all(labels[o.image] == o.label for o in scene.objects)


def test_flops_beside_accuracy_for_every_contender_of_a_report(tmp_path, capsys):
    from bench.flops import main as flops_main
    from core.training.flops import training_flops_per_image
    from core.training.presets import ACCURATE_SGD
    from core.training.presets import PRESETS as presets

    report = {"same_model": {"tutorial_test_accuracy": 0.6, "tutorial_images": 100_000},
              "time_to_accuracy": [{"name": "fast", "epochs": 2, "test_accuracy": 0.8}],
              "given_tutorial_time": [{"name": "accurate", "epochs": 16, "test_accuracy": 0.935}]}
    (tmp_path / "run.txt").write_text("some output\n" + json.dumps(report) + "\n")
    flops_main(["--result", str(tmp_path / "run.txt")])
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["contenders"]
    assert [r["name"] for r in rows] == ["tutorial pipeline", "fast, 2 epochs", "accurate, 16 epochs"]
    per_image = {n: training_flops_per_image(presets[n].spec) for n in ("tutorial", "fast")}
    per_image["accurate"] = training_flops_per_image(ACCURATE_SGD.spec("accurate"))  # what such a report trained
    assert rows[0]["train_pflop"] == pytest.approx(per_image["tutorial"] * 100_000 / 1e15)
    assert rows[1]["train_pflop"] == pytest.approx(per_image["fast"] * 2 * 50_000 / 1e15)
    assert rows[2]["train_pflop"] == pytest.approx(per_image["accurate"] * 16 * 50_000 / 1e15)
    assert rows[2]["accuracy_per_pflop"] == pytest.approx(93.5 / rows[2]["train_pflop"])
    report["time_to_accuracy"][0]["train_pflop"] = 0.0123  # a newer report records what it trained: that stands
    (tmp_path / "new.txt").write_text(json.dumps(report) + "\n")
    flops_main(["--result", str(tmp_path / "new.txt")])
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["contenders"]
    assert rows[1]["train_pflop"] == 0.0123


@pytest.mark.parametrize("budget, epochs, limit", [(0.125, 1, 6_250), (0.25, 1, 12_500), (1, 1, 0), (1.5, 2, 37_500),
                                                   (1.75, 2, 43_750), (2, 2, 0), (3, 3, 0)])
def test_a_time_to_accuracy_budget_is_whole_passes_over_an_equal_part_of_the_set(budget, epochs, limit):
    from bench.flops import budget_config, budget_run
    from core.training.presets import PRESETS as presets

    config, images = budget_run(presets["fast"].config, budget, 50_000)
    assert (config.epochs, config.limit_train, images) == (epochs, limit, limit)
    assert config.epochs * (config.limit_train or 50_000) == int(budget * 50_000)  # the budget's images, no more
    assert budget_config(presets["fast"].config, budget)[1] == (limit or 50_000)


def test_a_variant_is_the_presets_config_with_its_settings_typed_and_checked():
    from bench.variants import parse_variant
    from core.training.presets import PRESETS as presets

    base = presets["fast"].config
    label, config = parse_variant("muon:optimizer=muon,muon_lr=0.1,early_epochs=1,early_size=26", base)
    assert label == "muon" and (config.optimizer, config.muon_lr, config.early_epochs, config.early_size) == (
        "muon", 0.1, 1, 26)
    assert parse_variant("sgd", base) == ("sgd", base)
    with pytest.raises(SystemExit, match="'colour' is not a training setting"):
        parse_variant("x:colour=1", base)
