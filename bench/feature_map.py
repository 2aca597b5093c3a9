"""How long the network's map of the test images takes to draw: `python -m bench.feature_map [--run ID] [--images N]
[--rounds R]`. Each round draws the map afresh (nothing read from or written to the run folder): the chosen test
images through the network (features and answers), then PCA and t-SNE. Prints one JSON object."""
from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

import sklearn
import torch

from bench import DATA_HELP, default_data
from bench.step_overhead import cpu_name
from core.data import sources as data
from core.insight.feature_map import METHOD, MapSettings, choose_images, compute_map
from core.runs.folder import load_model, open_run, resolve_cli_run


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.feature_map", description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="starter-accurate", help="a classifier run: id or folder")
    parser.add_argument("--data", default=None, help=DATA_HELP)
    parser.add_argument("--images", type=int, default=MapSettings.images, help="test images on the map")
    parser.add_argument("--seed", type=int, default=MapSettings.seed, help="chooses the images and t-SNE's start")
    parser.add_argument("--rounds", type=int, default=1, help="maps drawn; the medians are reported too")
    args = parser.parse_args(argv)
    settings = MapSettings(args.images, args.seed).check()
    dataset = data.load(args.data or default_data())
    run = open_run(resolve_cli_run(args.run))
    model = load_model(run)
    indices = choose_images(dataset.test_y, settings.images, settings.seed)
    rounds = []
    for _ in range(args.rounds):
        fmap = compute_map(model, dataset.test_x, dataset.test_y, indices, settings.seed)
        rounds.append({"embed_seconds": round(fmap.embed_seconds, 2), "tsne_seconds": round(fmap.layout_seconds, 2),
                       "total_seconds": round(fmap.embed_seconds + fmap.layout_seconds, 2)})
    out = {"run": run.id, "data": Path(dataset.source).name, "images": len(fmap), "features": fmap.features.shape[1],
           "method": METHOD, "misclassified": int((fmap.predictions != fmap.labels).sum()),
           **{f"median_{k}": statistics.median(r[k] for r in rounds) for k in rounds[0]}, "rounds": rounds,
           "cpu": cpu_name(), "cores": os.cpu_count(), "threads": torch.get_num_threads(),
           "load_average_1min_after": round(os.getloadavg()[0], 2), "torch": torch.__version__,
           "sklearn": sklearn.__version__}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
