"""`python -m bench --quick` runs end to end on generated data and reports every section in its JSON line."""
import json

from bench.__main__ import main


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
    # one round each over the 400 training images: at batch 512 one step (fast), at batch 4 a hundred (seed)
    for key, steps in (("dashboard_overhead", 1), ("dashboard_overhead_batch4", 100)):
        row = report[key]
        assert len(row["rounds"]["dashboard"]) == len(row["rounds"]["cli"]) == 1 and row["steps"] == steps
        assert row["ratio"] == row["ratios"][0] > 0
    assert report["data_timing"]["cached_load_seconds"] >= 0
    assert report["machine"]["cores"] >= 1 and report["peak_memory_mb"] > 0


def test_captioning_benchmark_reports_a_curve_and_the_template(data_root, tmp_path, capsys):
    """`python -m bench.captioning --quick` trains the page's captioner on generated data: one curve point per epoch,
    in rising seconds, and the template describer scored on the same scenes with the encoder's classifier."""
    from bench.captioning import main as captioning
    from conftest import write_tree
    from core.cli import main as cli

    tree = write_tree(tmp_path / "tree", per_class=(12, 4))
    assert cli(["train", "--data", str(tree), "--model", "tutorial", "--epochs", "1", "--batch-size", "10",
                "--out", str(tmp_path / "clf")]) == 0
    report = captioning(["--quick", "--data", str(tree), "--encoder-run", str(tmp_path / "clf")])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == json.loads(json.dumps(report))
    seconds = [row["seconds"] for row in report["curve"]]
    assert [row["epoch"] for row in report["curve"]] == [1, 2] and seconds == sorted(seconds) and seconds[0] > 0
    assert report["encoder"] == "clf" and 0 <= report["encoder_single_image_accuracy"] <= 1
    for scores in (report["template"], report["template_held_out"], *report["curve"]):
        assert all(0 <= scores[k] <= 1 for k in ("exact", "precision", "recall", "bleu"))
