"""How much of a classifier's accuracy survives inside the captioning scenes, before any decoder is involved:
`python -m bench.caption_probe --run DIR [--data SRC]
[--scenes 600] [--adapt-scenes N]`.

For every object of the fixed test scenes it classifies the object three ways with the run's own weights and head:
- single: the original 32x32 test picture (what the run's test accuracy measures);
- crop: the object cut from the rendered scene and resized to 32x32 (the same picture at the size it has there);
- grid: the encoder's feature grid over the whole scene (what the captioner sees), pooled over the cells whose
  centres lie inside the object's box the way the classifier pools its last maps, then the run's head.
The grid figure is the ceiling for a frozen encoder whose features the decoder reads without learning them anew.
Prints a table by kind of scene and one JSON line."""
from __future__ import annotations

import argparse
import collections
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from bench import DATA_HELP, default_data
from core.caption.adapt import adapt_encoder, classifier_head, object_cells
from core.caption.model import encoder_from_classifier
from core.caption.scenes import evaluation_scenes, render_batch
from core.data import sources as data
from core.data.batches import normalize
from core.runs.folder import RunError, load_model, open_run


def split(run):
    """The run's model as (its conv part the captioner uses, its head)."""
    model = load_model(run).eval()
    convs = len(encoder_from_classifier(run.spec).layers)
    return model, model[:convs], classifier_head(model, run.spec, convs)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.caption_probe", description=__doc__.splitlines()[0])
    parser.add_argument("--data", help=DATA_HELP)
    parser.add_argument("--run", required=True, help="a classifier run")
    parser.add_argument("--scenes", type=int, default=600)
    parser.add_argument("--adapt-scenes", type=int, default=0, metavar="N",
                        help="first adapt the classifier to N training scenes as the captioner's adapt mode does "
                             "(core.caption.adapt, batches of 64, seed 0); default 0: as trained")
    args = parser.parse_args(argv)
    dataset = data.load(args.data or default_data())
    try:
        model, convs, head = split(open_run(Path(args.run)))
    except RunError as exc:  # not a run, or a captioner run: say so in one line
        raise SystemExit(f"error: {exc}") from None
    if args.adapt_scenes:
        started = time.perf_counter()
        adapt_encoder(convs, head, dataset.train_x, dataset.train_y, len(dataset.classes), args.adapt_scenes,
                      batch_size=64, seed=0, device=torch.device("cpu"))
        print(f"adapted on {args.adapt_scenes:,} training scenes in {time.perf_counter() - started:.0f} s")
    tally = collections.defaultdict(lambda: [0, 0, 0, 0])  # objects, single, crop, grid right
    with torch.no_grad():
        for scene in evaluation_scenes(dataset.test_y, len(dataset.classes), args.scenes):
            pixels = normalize(render_batch([scene], dataset.test_x))
            maps = convs(pixels)[0]
            for obj, cells in zip(scene.objects, object_cells(maps, scene)):
                x0, y0, x1, y1 = obj.box
                grid = head.classify(cells[None]).argmax().item()
                single = model(normalize(dataset.test_x[obj.image:obj.image + 1])).argmax().item()
                crop = F.interpolate(pixels[:, :, y0:y1, x0:x1], size=(32, 32), mode="bilinear", align_corners=False)
                counts = tally[f"{scene.layout}, {x1 - x0} px"]
                for k, guess in enumerate((single, model(crop).argmax().item(), grid), 1):
                    counts[k] += guess == obj.label
                counts[0] += 1
    total = [sum(c[k] for c in tally.values()) for k in range(4)]
    print(f"{'scenes':<20}{'objects':>8}{'single':>8}{'crop':>8}{'grid':>8}")
    for kind, c in sorted(tally.items()) + [("all", total)]:
        print(f"{kind:<20}{c[0]:>8}" + "".join(f"{c[k] / c[0]:>8.1%}" for k in (1, 2, 3)))
    report = {"run": args.run, "data": dataset.source, "adapt_scenes": args.adapt_scenes, "objects": total[0],
              **{name: total[k] / total[0] for k, name in enumerate(("single", "crop", "grid"), 1)},
              "by_kind": {kind: {"objects": c[0], "single": c[1] / c[0], "crop": c[2] / c[0], "grid": c[3] / c[0]}
                          for kind, c in sorted(tally.items())}}
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
