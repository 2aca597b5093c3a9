"""The public `python -m core` contract: JSON shapes on the last line, exit status 2 with one error line."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import png_bytes

from core.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_models_lists_every_preset(capsys):
    code, out, _ = run_cli(capsys, "models", "--json")
    names = [m["name"] for m in last_json(out)["models"]]
    assert code == 0 and names[:2] == ["seed", "tutorial"] and {"fast", "accurate", "gpu-speedrun"} <= set(names)
    seed = last_json(out)["models"][0]
    assert seed["parameters"] == 404042 and seed["macs"] > 0


@pytest.fixture
def trained(capsys, data_root, tiny_tree, tmp_path):
    code, out, _ = run_cli(capsys, "train", "--data", str(tiny_tree), "--model", "tutorial", "--epochs", "1",
                           "--batch-size", "10", "--lr", "0.01", "--out", str(tmp_path / "run"), "--json")
    assert code == 0
    return last_json(out)


def test_train_json_contract(trained, tmp_path):
    assert set(trained) >= {"run", "device", "epochs", "train_seconds", "images_per_second", "test_accuracy",
                            "per_class_accuracy"}
    assert trained["run"] == str(tmp_path / "run") and trained["device"] == "cpu" and trained["epochs"] == 1
    assert 0 <= trained["test_accuracy"] <= 1 and len(trained["per_class_accuracy"]) == 10
    assert trained["images_per_second"] > 0 and trained["train_seconds"] > 0


def test_evaluate_json_contract(trained, capsys, tiny_tree):
    code, out, _ = run_cli(capsys, "evaluate", "--run", trained["run"], "--json")
    result = last_json(out)
    assert code == 0 and result["test_accuracy"] == pytest.approx(trained["test_accuracy"])
    assert len(result["confusion"]) == 10 and sum(map(sum, result["confusion"])) == 30


def test_evaluate_reports_calibration_and_the_abstain_curve(trained, capsys):
    """New keys beside the old: the temperature fitted on the preset's held-out slice (a fifth of 60 here), the
    test-set calibration error before and after, and the abstain curve."""
    code, out, _ = run_cli(capsys, "evaluate", "--run", trained["run"], "--json")
    result = last_json(out)
    c, a = result["calibration"], result["abstain"]
    assert code == 0 and c["fitted_on"] == 12 and c["temperature"] > 0
    assert {"ece_before", "ece_after", "nll_before", "nll_after", "reliability_before", "reliability_after"} <= set(c)
    assert sum(b["images"] for b in c["reliability_after"]) == 30
    assert len(a["thresholds"]) == len(a["coverage"]) == len(a["accuracy"]) and a["coverage"][0] == 1.0
    assert a["accuracy"][0] == pytest.approx(result["test_accuracy"])


def test_evaluate_corruptions_adds_accuracy_per_corruption_and_severity_and_keeps_it(trained, capsys):
    from core.data.corruptions import CORRUPTIONS

    code, out, _ = run_cli(capsys, "evaluate", "--run", trained["run"], "--corruptions", "--corruption-images", "20",
                           "--json")
    result = last_json(out)
    table = result["corruption_accuracy"]
    assert code == 0 and set(table) == set(CORRUPTIONS) and all(set(by) == set("12345") for by in table.values())
    values = [a for by in table.values() for a in by.values()]
    assert all(k / 20 == pytest.approx(a) for a in values for k in [round(a * 20)])  # shares of 20 images
    assert result["corruption_mean"] == pytest.approx(sum(values) / len(values)) and result["corruption_images"] == 20
    assert result["test_accuracy"] == pytest.approx(trained["test_accuracy"])  # the old keys stay as they were
    assert (Path(trained["run"]) / "robustness.json").exists()
    code, out, _ = run_cli(capsys, "evaluate", "--run", trained["run"], "--corruptions", "--corruption-images", "0")
    assert code == 2 and "--corruption-images must be at least 1" in out + _


def test_a_run_trained_on_everything_reports_no_calibration(capsys, data_root, tiny_tree, tmp_path):
    run = str(tmp_path / "all")
    assert run_cli(capsys, "train", "--data", str(tiny_tree), "--model", "tutorial", "--epochs", "1", "--holdout", "0",
                   "--batch-size", "10", "--out", run)[0] == 0
    code, out, _ = run_cli(capsys, "evaluate", "--run", run)
    assert code == 0 and "calibration: none (the run trained on every training image" in out


def test_lr_find_json_contract(capsys, data_root, tiny_tree):
    code, out, err = run_cli(capsys, "lr-find", "--data", str(tiny_tree), "--model", "tutorial", "--batch-size", "10",
                             "--steps", "60", "--start-lr", "1e-4", "--json")
    result = last_json(out)
    assert code == 0 and len(result["lrs"]) == len(result["losses"]) > 10 and result["lrs"][0] == pytest.approx(1e-4)
    assert result["suggested"] is None or result["lrs"][0] <= result["suggested"] <= result["lrs"][-1]
    assert "learning-rate range test of tutorial" in err


def test_neighbours_json_contract_finds_a_training_image_itself(trained, capsys, tmp_path, tiny_tree):
    image = tmp_path / "train7.png"
    image.write_bytes((tiny_tree / "train" / "bird" / "0003.png").read_bytes())
    code, out, _ = run_cli(capsys, "neighbours", "--run", trained["run"], str(image), "--k", "3", "--json")
    result = last_json(out)
    first = result["neighbours"][0]
    assert code == 0 and len(result["neighbours"]) == 3 and result["image"] == str(image)
    assert first["label"] == "bird" and first["similarity"] == pytest.approx(1.0, abs=2e-3)
    assert 0 <= result["query_seconds"] < 1


@pytest.mark.parametrize("args,message", [
    (["lr-find", "--steps", "5"], "steps must be a whole number from 10"),
    (["lr-find", "--start-lr", "0.5", "--end-lr", "0.1"], "end_lr must be above start_lr"),
    (["train", "--holdout", "-3"], "holdout must be a whole number"),
])
def test_new_commands_refuse_bad_settings_with_one_line(capsys, data_root, args, message):
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_neighbours_refuses_a_k_out_of_range(trained, capsys, tmp_path):
    image = tmp_path / "p.png"
    image.write_bytes(png_bytes(mode="RGB", size=(40, 40)))
    code, _, err = run_cli(capsys, "neighbours", "--run", trained["run"], str(image), "--k", "0")
    assert code == 2 and "--k must be from 1 to" in err


def test_predict_json_contract(trained, capsys, tmp_path):
    image = tmp_path / "red.png"
    image.write_bytes(png_bytes(mode="RGB", size=(50, 40)))
    code, out, _ = run_cli(capsys, "predict", "--run", trained["run"], str(image), "--json")
    [p] = last_json(out)["predictions"]
    assert code == 0 and p["image"] == str(image) and len(p["top"]) == 5
    # the same five classes and probabilities as the saved model gives the same picture, most likely first
    import torch

    from core.data.images import FITS, decode_image, to_model_input
    from core.runs.folder import load_model, open_run
    from core.training.evaluate import predict_probabilities

    run = open_run(Path(trained["run"]))
    picture = decode_image(image.read_bytes(), "red.png")
    views = torch.stack([to_model_input(picture, fit) for fit in FITS])  # seen three ways, with the run's TTA
    probs = predict_probabilities(load_model(run), views, tta=run.config.tta).mean(0)
    expected = [(run.classes[int(i)], float(probs[i])) for i in torch.argsort(probs, descending=True)[:5]]
    assert [(t["class"], pytest.approx(t["probability"], abs=1e-5)) for t in p["top"]] == expected
    assert p["caption"].endswith(".") and expected[0][0] in p["caption"]


def test_predict_refuses_a_text_file_named_png(trained, capsys, tmp_path):
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    code, out, err = run_cli(capsys, "predict", "--run", trained["run"], str(fake))
    assert code == 2 and err.strip() == f"error: {fake} is not an image this app can read (PNG, JPEG, WebP, BMP or GIF)"


def test_train_refuses_to_overwrite_a_saved_run(trained, capsys, tiny_tree):
    code, _, err = run_cli(capsys, "train", "--data", str(tiny_tree), "--out", trained["run"])
    assert code == 2 and "already exists" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args,message", [
    (["train", "--model", "nope"], "neither a preset"),
    (["train", "--lr", "-1"], "lr must be a number"),
    (["train", "--data", "/no/such/place"], "does not exist"),
    (["evaluate", "--run", "/no/such/run"], "is not a run folder"),
    (["frobnicate"], "invalid choice"),
])
def test_errors_exit_2_with_one_error_line(capsys, data_root, args, message):
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_module_entry_point_prints_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "core", "train", "--data", str(tmp_path / "none")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stderr.startswith("error: ")


def test_explain_json_contract_and_heatmap_file(trained, capsys, tmp_path):
    image = tmp_path / "pic.png"
    image.write_bytes(png_bytes(mode="RGB", size=(64, 48)))
    out = tmp_path / "heat.png"
    code, stdout, _ = run_cli(capsys, "explain", "--run", trained["run"], str(image), "--out", str(out),
                              "--target", "cat", "--json")
    result = last_json(stdout)
    assert code == 0 and result["target"] == "cat" and result["heatmap"] == str(out)
    assert result["predicted"] in trained["per_class_accuracy"]
    from PIL import Image

    assert Image.open(out).size == (64, 48)


def test_explain_refuses_an_unknown_class(trained, capsys, tmp_path):
    image = tmp_path / "pic.png"
    image.write_bytes(png_bytes(mode="RGB", size=(32, 32)))
    code, _, err = run_cli(capsys, "explain", "--run", trained["run"], str(image), "--out", str(tmp_path / "h.png"),
                           "--target", "unicorn")
    assert code == 2 and "'unicorn' is not one of the run's classes" in err


def test_describe_json_contract(trained, capsys, tmp_path):
    image = tmp_path / "pic.png"
    image.write_bytes(png_bytes(mode="RGB", size=(96, 64)))
    code, stdout, _ = run_cli(capsys, "describe", "--run", trained["run"], str(image), "--out",
                              str(tmp_path / "boxes.png"), "--json")
    result = last_json(stdout)
    # what the CLI says is what the engine finds in the same picture with the saved model
    from PIL import Image

    from core.insight.describe import describe
    from core.runs.folder import load_model, open_run

    run = open_run(Path(trained["run"]))
    d = describe(load_model(run), run.classes, Image.open(image).convert("RGB"))
    assert code == 0 and result["sentence"] == d.sentence
    assert [(r["class"], r["box"]) for r in result["regions"]] == [(r.cls, list(r.box)) for r in d.regions]
    for region in result["regions"]:
        assert region["class"] in run.classes and region["class"] in result["sentence"]
    if not result["regions"]:
        assert result["sentence"].startswith("I don't recognise anything I know")
    assert Image.open(tmp_path / "boxes.png").size == (96, 64)


def test_resume_continues_from_a_runs_weights(trained, capsys, tmp_path, tiny_tree):
    code, out, _ = run_cli(capsys, "train", "--resume", trained["run"], "--data", str(tiny_tree), "--epochs", "1",
                           "--out", str(tmp_path / "more"), "--json")
    result = last_json(out)
    assert code == 0 and result["run"] == str(tmp_path / "more") and result["epochs"] == 1
    from core.runs.folder import open_run

    assert open_run(tmp_path / "more").spec == open_run(Path(trained["run"])).spec


def test_runs_lists_and_deletes(trained, capsys, data_root, tmp_path):
    import shutil

    listed_root = tmp_path / "runs"  # the runs folder the CLI lists (see the data_root fixture)
    shutil.copytree(trained["run"], listed_root / "20260101-000000-tutorial-abc123")
    code, out, _ = run_cli(capsys, "runs", "--json")
    [run] = [r for r in last_json(out)["runs"] if not r["starter"]]  # the starters shipped with the project follow
    assert code == 0 and run["id"] == "20260101-000000-tutorial-abc123" and run["status"] == "finished"
    assert run["model"] == "tutorial" and run["test_accuracy"] == pytest.approx(trained["test_accuracy"])
    code, out, _ = run_cli(capsys, "runs", "--delete", str(listed_root / run["id"]), "--json")
    assert code == 0 and not (listed_root / run["id"]).exists()
    code, out, _ = run_cli(capsys, "runs", "--delete", trained["run"], "--json")
    assert code == 0 and not Path(trained["run"]).exists()
    code, out, _ = run_cli(capsys, "runs", "--json")
    assert code == 0 and all(r["starter"] for r in last_json(out)["runs"])  # only the read-only starters are left


def _train_choices():
    from dataclasses import fields

    from core.training.config import TrainConfig
    from core.training.presets import PRESETS

    return [(preset, f.name, value) for preset in PRESETS for f in fields(TrainConfig) if "choices" in f.metadata
            for value in f.metadata["choices"]]


@pytest.mark.parametrize("preset,name,value", _train_choices())
def test_every_choice_of_every_train_flag_reaches_the_config(preset, name, value):
    """Each choice core accepts is offered by the CLI and lands in TrainConfig, on top of every preset."""
    from core.cli.main import build_parser
    from core.cli.train import train_setup

    args = build_parser().parse_args(["train", "--model", preset, f"--{name.replace('_', '-')}", value])
    _, config, _ = train_setup(args)
    assert getattr(config, name) == value


def test_every_ranged_train_flag_reaches_the_config_at_its_ranges_ends():
    """Augmentation included: every setting with a range is a flag, and both ends of the range land in TrainConfig."""
    from dataclasses import fields

    from core.bounds import bounds_of
    from core.cli.main import build_parser
    from core.cli.train import train_setup
    from core.training.config import TrainConfig

    for name in (f.name for f in fields(TrainConfig) if "bounds" in f.metadata):
        for value in (bounds_of(TrainConfig, name).low, bounds_of(TrainConfig, name).high):
            beside = ["--epochs", "500"] if name == "early_epochs" else []  # small-crop epochs leave full-size ones
            args = build_parser().parse_args(["train", "--model", "robust", *beside,
                                              f"--{name.replace('_', '-')}", str(value)])
            assert getattr(train_setup(args)[1], name) == value, name


def test_photo_apart_is_switched_on_and_off_by_flag_and_kept_by_default():
    from core.cli.main import build_parser
    from core.cli.train import train_setup
    from core.training.presets import PRESETS

    setting = lambda *flags: train_setup(build_parser().parse_args(["train", "--model", "robust", *flags]))[1].photo_apart
    assert setting() == PRESETS["robust"].config.photo_apart
    assert setting("--photo-apart") is True and setting("--no-photo-apart") is False


def test_every_flag_of_every_command_has_a_help_text():
    import argparse

    from core.cli.main import build_parser

    sub = _subparsers(build_parser())
    missing = [f"{command} {'/'.join(action.option_strings) or action.dest}"
               for command, parser in sub.items() for action in parser._actions
               if not action.help or action.help == argparse.SUPPRESS]
    assert sub and not missing, missing


def _subparsers(parser) -> dict:
    """Each command's own parser, by command name."""
    import argparse

    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_train_flags_override_the_preset_and_keep_the_rest(capsys):
    from core.cli.main import build_parser
    from core.cli.train import train_setup
    from core.training.presets import PRESETS

    args = build_parser().parse_args(["train", "--model", "fast", "--epochs", "3", "--lr", "0.2", "--seed", "7"])
    spec, config, initial = train_setup(args)
    expected = PRESETS["fast"].config
    assert spec == PRESETS["fast"].spec and initial is None
    assert (config.epochs, config.lr, config.seed) == (3, 0.2, 7)
    assert (config.batch_size, config.schedule, config.lookahead) == (expected.batch_size, "triangle", True)


# ----------------------------------------------------------------------------------------------------------------
# captioning


@pytest.fixture
def captioner(capsys, data_root, tiny_tree, tmp_path):
    code, out, err = run_cli(capsys, "caption-train", "--data", str(tiny_tree), "--epochs", "1", "--scenes-per-epoch",
                             "64", "--batch-size", "32", "--hidden", "32", "--test-scenes", "16",
                             "--held-out-scenes", "16", "--out", str(tmp_path / "cap"), "--json")
    assert code == 0, err
    return last_json(out)


def test_caption_train_json_contract(captioner, tmp_path):
    assert captioner["run"] == str(tmp_path / "cap") and captioner["encoder"] == "scratch"
    assert captioner["status"] == "finished" and captioner["epochs"] == 1 and captioner["scenes_per_second"] > 0
    for key in ("exact", "object_precision", "object_recall", "bleu", "held_out_exact"):
        assert 0 <= captioner[key] <= 1
    assert {"captioner.json", "vocab.json", "config.json", "weights.safetensors"} <= {
        p.name for p in (tmp_path / "cap").iterdir()}


def test_caption_train_adapts_a_classifiers_encoder_and_says_how_it_went(capsys, finished_run, tiny_tree, tmp_path):
    """The default encoder mode with --encoder-run (here a net whose head averages its map): a line reports the adapt
    phase, and the captioning steps are counted after it."""
    code, out, err = run_cli(capsys, "caption-train", "--data", str(tiny_tree), "--encoder-run", str(finished_run),
                             "--adapt-scenes", "64", "--epochs", "1", "--scenes-per-epoch", "64", "--batch-size", "32",
                             "--hidden", "32", "--test-scenes", "16", "--held-out-scenes", "16",
                             "--out", str(tmp_path / "cap"))
    assert code == 0, err
    assert "encoder adapted on 64 training scenes: objects named from its grid" in out
    assert "epoch 1 step 8/8" in out  # 2 adapt steps, then 2 batches of scenes used 3 times each


def test_caption_json_contract_with_beams_and_attention_files(captioner, capsys, tmp_path):
    images = []
    for name, size in (("wide.png", (120, 60)), ("tall.png", (30, 90))):
        (tmp_path / name).write_bytes(png_bytes(mode="RGB", size=size))
        images.append(str(tmp_path / name))
    code, out, _ = run_cli(capsys, "caption", "--run", captioner["run"], *images, "--beam", "3",
                           "--attention-out", str(tmp_path / "att"), "--json")
    result = last_json(out)["captions"]
    assert code == 0 and [c["image"] for c in result] == images
    for c in result:
        assert c["sentence"] == " ".join(c["words"]) == c["beams"][0]["sentence"]
        assert 1 <= len(c["beams"]) <= 3 and all(b["score"] <= 0 for b in c["beams"])
        assert Path(c["attention"]).is_file() and Path(c["attention"]).parent == tmp_path / "att"


def test_caption_refuses_bad_input_with_one_line(captioner, trained, capsys, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    good = tmp_path / "good.png"
    good.write_bytes(png_bytes())
    for args, message in [
        (["caption", "--run", trained["run"], str(good)], "is a classifier run"),
        (["caption", "--run", captioner["run"], str(text)], "notes.png"),
        (["caption", "--run", captioner["run"], str(good), "--beam", "0"], "--beam must be from 1 to"),
        (["caption-train", "--encoder-run", captioner["run"]], "is a captioner run"),
        (["caption-train", "--cell", "transformer"], "invalid choice"),
        (["caption-train", "--epochs", "0"], "epochs must be a whole number from 1"),
        (["caption-train", "--label-smoothing", "1.5"], "label_smoothing must be a number from 0 to 0.5"),
    ]:
        code, out, err = run_cli(capsys, *args)
        assert code == 2 and err.count("\n") == 1 and message in err, (args, err)
    vocab = Path(captioner["run"]) / "vocab.json"
    words = json.loads(vocab.read_text())
    vocab.write_text(json.dumps(words[:4] + words[5:]))  # a word removed
    code, _, err = run_cli(capsys, "caption", "--run", captioner["run"], str(good))
    assert code == 2 and "vocab.json differs" in err and (Path(captioner["run"]) / "weights.safetensors").exists()


def test_every_captioner_setting_is_a_flag_with_its_range():
    from dataclasses import fields

    from core.caption.config import CaptionConfig
    from core.cli.main import build_parser

    command = _subparsers(build_parser())["caption-train"]
    helps = {a.dest: a.help for a in command._actions}
    assert {f.name for f in fields(CaptionConfig)} <= set(helps)
    for f in fields(CaptionConfig):
        value = "0.25" if f.type in ("float", float) else "3" if f.type in ("int", int) else f.metadata["choices"][-1]
        args = build_parser().parse_args(["caption-train", f"--{f.name.replace('_', '-')}", value])
        assert str(getattr(args, f.name)) == value
        if "bounds" in f.metadata:
            assert f"{f.metadata['bounds'].low:g} to {f.metadata['bounds'].high:g}" in helps[f.name]


@pytest.mark.parametrize("name", ["cell", "encoder_mode", "device"])
def test_every_caption_choice_reaches_the_config(name):
    from core.bounds import choices_of
    from core.caption.config import CaptionConfig
    from core.cli.main import build_parser

    for value in choices_of(CaptionConfig, name):
        args = build_parser().parse_args(["caption-train", f"--{name.replace('_', '-')}", value])
        assert getattr(args, name) == value


def test_runs_lists_both_kinds_and_deletes_a_captioner(captioner, trained, capsys, tmp_path):
    import shutil

    listed_root = tmp_path / "runs"  # the runs folder the CLI lists (see the data_root fixture)
    shutil.copytree(trained["run"], listed_root / "20260101-000000-tutorial-abc123")
    shutil.copytree(captioner["run"], listed_root / "20260101-000001-captioner-abc123")
    code, out, _ = run_cli(capsys, "runs", "--json")
    kinds = {r["id"]: r["kind"] for r in last_json(out)["runs"] if not r["starter"]}
    assert code == 0 and kinds == {"20260101-000000-tutorial-abc123": "classifier",
                                   "20260101-000001-captioner-abc123": "captioner"}
    code, _, err = run_cli(capsys, "runs", "--delete", captioner["run"], "--json")
    assert code == 0 and not Path(captioner["run"]).exists(), err


def test_an_engine_bug_is_one_line_and_debug_adds_the_traceback(capsys, monkeypatch):
    def broken(args):
        raise ZeroDivisionError("a bug deep in the engine")

    monkeypatch.setattr("core.cli.models.cmd_models", broken)  # the handler the models command is built with
    code, _, err = run_cli(capsys, "models")
    assert code == 2 and err.strip() == ("error: unexpected ZeroDivisionError: a bug deep in the engine "
                                         "(run again with --debug for the traceback)")
    for argv in (["--debug", "models"], ["models", "--debug"]):
        code, _, err = run_cli(capsys, *argv)
        lines = err.strip().splitlines()
        assert code == 2 and lines[0].startswith("Traceback") and "in broken" in err
        assert lines[-1] == "error: unexpected ZeroDivisionError: a bug deep in the engine"
