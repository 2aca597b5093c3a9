"""Which window scales give the template describer its best chance on varied scenes, chosen on TRAINING scenes (never
the test set): `python -m bench.template_scales --classifier-run DIR [--data SRC] [--scenes 200]`.

Draws varied scenes from the training pictures (core.caption.varied, TRAIN_RANGE, its own seed) and scores the
template describer with each candidate set of window sides (shares of the picture's short side). Prints a line per
set and one JSON line."""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from bench import DATA_HELP, default_data
from bench.varied_baseline import template_scores
from core.caption.evaluate import TEMPLATE_SCALES
from core.caption.varied import TRAIN_RANGE, VariedSampler
from core.data import sources as data
from core.insight.describe import SCALES
from core.runs.folder import load_model, open_run

CANDIDATES = (SCALES, (1.0, 0.7, 0.5, 0.35, 0.25), TEMPLATE_SCALES)
SEED = 99  # not a test seed: these scenes are drawn from training pictures


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.template_scales", description=__doc__.splitlines()[0])
    parser.add_argument("--classifier-run", required=True, metavar="DIR", help="the run the template describer uses")
    parser.add_argument("--data", default=None, help=DATA_HELP)
    parser.add_argument("--scenes", type=int, default=200, help="training scenes to score on (200)")
    args = parser.parse_args(argv)
    dataset = data.load(args.data or default_data())
    classifier = load_model(open_run(Path(args.classifier_run))).eval()
    rng = random.Random(SEED)
    sampler = VariedSampler(dataset.train_y, len(dataset.classes), TRAIN_RANGE)
    scenes = [sampler.scene(rng) for _ in range(args.scenes)]
    rows = []
    for scales in CANDIDATES:
        started = time.perf_counter()
        scores = template_scores(classifier, dataset.classes, scenes, dataset.train_x, scales)
        rows.append({"scales": scales, "exact": scores.overall.exact, "recall": scores.overall.recall,
                     "precision": scores.overall.precision, "no_small_exact": scores.no_small.exact,
                     "no_small_recall": scores.no_small.recall, "seconds": time.perf_counter() - started})
        r = rows[-1]
        print(f"{scales}: exact {r['exact']:.1%}, objects {r['recall']:.1%} (precision {r['precision']:.1%}); "
              f"objects all >= 32 px: exact {r['no_small_exact']:.1%}, objects {r['no_small_recall']:.1%}; "
              f"{r['seconds']:.0f} s", flush=True)
    out = {"scenes": len(scenes), "rows": rows}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
