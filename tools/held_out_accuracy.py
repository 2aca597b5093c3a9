"""`python tools/held_out_accuracy.py RUN DATA`: a saved run's accuracy on its own held-out training images (the
preset's holdout, never the test set), with its last weights, in fp32 with the test-time augmentation it trained with.
For runs that predate the per-epoch held-out score (summary.json's best_holdout_accuracy), so that they can be compared
with newer ones on the same images."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data import sources as data  # noqa: E402
from core.runs.folder import load_model, open_run  # noqa: E402
from core.training.evaluate import predict_classes  # noqa: E402
from core.training.train import held_out_images  # noqa: E402


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit(__doc__.splitlines()[0])
    run = open_run(Path(argv[0]))
    x, y = held_out_images(data.load(argv[1]), run.config)
    if not len(y):
        raise SystemExit(f"{argv[0]} held no training images out")
    predicted = predict_classes(load_model(run), x, "cpu", tta=run.config.tta)
    print(f"{argv[0]}: {(predicted == y).float().mean().item():.2%} of {len(y):,} held-out training images")


if __name__ == "__main__":
    main(sys.argv[1:])
