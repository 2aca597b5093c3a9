"""Rebuild the starter runs shipped in starters/: `python -m bench.starters [--data SRC] [--out starters]
[--classifier-run DIR] [--captioner-run DIR]`.

Trains the most accurate classifier preset (`accurate`) with the project's own command, evaluates it on the test set
in fp32 with `python -m core evaluate` (the number a CI test gets back), then a captioner on its encoder with
`python -m core caption-train`, and copies both into the starters folder with a provenance.json each: the commands,
the data, the commit, the machine, the date and what they measured. `--classifier-run`/`--captioner-run` take runs
trained already instead of training again (`--classifier-command`/`--captioner-command` then say how); `--skip-captioner`
rebuilds the classifier only. Derived files (calibration, neighbours, robustness)
are left out: for a starter they are computed into the data folder's cache on first use."""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from bench import DATA_HELP, default_data
from core.runs.layout import STARTERS_ROOT

ROOT = Path(__file__).resolve().parents[1]
CLASSIFIER, CAPTIONER = "starter-accurate", "starter-captioner"
KEPT = ("weights.safetensors", "spec.json", "captioner.json", "vocab.json", "config.json", "classes.json",
        "metrics.jsonl", "summary.json", "timelapse")


def core(*args: str) -> dict:
    """`python -m core ARGS --json`, its JSON line; its progress goes to this process's stderr."""
    done = subprocess.run([sys.executable, "-m", "core", *args, "--json"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"python -m core {' '.join(args)} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in flags.splitlines() if line.startswith("model name")), "")
    isa = "AVX-512 with bf16" if "avx512_bf16" in flags else "AVX-512" if "avx512f" in flags else "AVX2" \
        if "avx2" in flags else "no AVX2"
    return f"{model or platform.processor()}, {torch.get_num_threads()} threads, {isa}; torch {torch.__version__}"


def install(run: Path, name: str, out: Path, provenance: dict, **summary_changes) -> Path:
    """Copy the run's own files into out/name and write its provenance; the run's summary keeps what it measured
    (`summary_changes`: ids it names that the install renames, such as its encoder's run)."""
    target = out / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for item in KEPT:
        source = run / item
        if source.is_dir():
            shutil.copytree(source, target / item)
        elif source.exists():
            shutil.copy2(source, target / item)
    summary = json.loads((target / "summary.json").read_text())
    if summary.get("best_epoch") not in (None, summary.get("epochs_done")):
        # best.safetensors is not shipped: a starter offers its last weights only, so it names no other best epoch
        summary_changes = {"best_epoch": None, **summary_changes}
    if summary_changes:
        (target / "summary.json").write_text(json.dumps({**summary, **summary_changes}, indent=2))
    sha = hashlib.sha256((target / "weights.safetensors").read_bytes()).hexdigest()
    (target / "provenance.json").write_text(json.dumps({**provenance, "weights_sha256": sha}, indent=2) + "\n")
    return target


def _provenance(starter: Path) -> dict:
    path = starter / "provenance.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _encoder_kept(captioner: Path, replaced: dict) -> None:
    """The captioner keeps its own copy of the encoder it was trained on, so a classifier-only rebuild leaves it
    working; its provenance must stop calling the new classifier its encoder."""
    provenance = _provenance(captioner)
    if not provenance or not replaced.get("weights_sha256") or "encoder_replaced" in provenance:
        return
    provenance["encoder"] = (f"the {CLASSIFIER} of {replaced.get('date')} (weights sha256 {replaced['weights_sha256']},"
                             f" {replaced.get('command')}), kept inside these weights")
    provenance["encoder_replaced"] = f"{CLASSIFIER} was rebuilt on {datetime.date.today().isoformat()}; this " \
                                     "captioner was not retrained"
    (captioner / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.starters", description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help=DATA_HELP)
    parser.add_argument("--out", default=str(STARTERS_ROOT), help="where the starters go (the project's starters/)")
    parser.add_argument("--classifier-run", help="a run trained by `python -m core train --model accurate` already")
    parser.add_argument("--classifier-command", help="with --classifier-run: the command that trained it, for the "
                                                     "provenance (a seed, say)")
    parser.add_argument("--captioner-run", help="a captioner trained on that classifier's encoder already")
    parser.add_argument("--captioner-command", help="with --captioner-run: the command that trained it, for the "
                                                    "provenance")
    parser.add_argument("--trained-commit", help="with --classifier-run/--captioner-run: the commit that trained them")
    parser.add_argument("--skip-captioner", action="store_true", help="rebuild the classifier starter only")
    args = parser.parse_args(argv)
    data, out = args.data or default_data(), Path(args.out)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    common = {"data": data, "commit": args.trained_commit or commit, "installed_at_commit": commit,
              "machine": machine(), "date": datetime.date.today().isoformat()}
    with tempfile.TemporaryDirectory(prefix="starters-") as tmp:
        classifier = Path(args.classifier_run or Path(tmp) / "accurate")
        train = ["train", "--model", "accurate", "--data", data, "--out", str(classifier)]
        if not args.classifier_run:
            core(*train)
        scored = core("evaluate", "--run", str(classifier), "--data", data)
        replaced = _provenance(out / CLASSIFIER)
        installed = install(classifier, CLASSIFIER, out, {
            **common, "command": args.classifier_command or "python -m core " + " ".join(train),
            "evaluated_by": f"python -m core evaluate --run starters/{CLASSIFIER} --data DATA --json (fp32)",
            "test_accuracy": scored["test_accuracy"],
            "test_correct": sum(row[i] for i, row in enumerate(scored["confusion"])),
            "test_images": sum(map(sum, scored["confusion"]))})
        print(f"{installed}: test accuracy {scored['test_accuracy']:.2%} (fp32)")
        if args.skip_captioner:
            _encoder_kept(out / CAPTIONER, replaced)
            return
        captioner = Path(args.captioner_run or Path(tmp) / "captioner")
        caption = ["caption-train", "--data", data, "--encoder-run", str(installed), "--out", str(captioner)]
        if not args.captioner_run:
            core(*caption)
        summary = json.loads((captioner / "summary.json").read_text())
        installed = install(captioner, CAPTIONER, out, {
            **common, "command": args.captioner_command or "python -m core " + " ".join(caption),
            "encoder": f"{CLASSIFIER} (trained as {summary.get('encoder_from')}: the same weights)",
            "exact": summary.get("test_accuracy"), "objects": summary.get("object_recall"),
            "bleu": summary.get("bleu")}, encoder_from=CLASSIFIER)
        print(f"{installed}: {summary.get('test_accuracy') or 0:.1%} of test scenes captioned exactly")


if __name__ == "__main__":
    main()
