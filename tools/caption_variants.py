"""A research sweep over captioner training variants, one variant and seed per call, as run on a lent H200 to choose
which ideas were worth measuring on the CPU (docs/captioning.md, "Training variants screened on a GPU"):

    python tools/caption_variants.py DATA ENCODER_RUN VARIANT SEED OUT.jsonl [SETTING=VALUE ...]

VARIANT joins with "+" any of: base (the defaults as they were then: no label smoothing), ls (label smoothing 0.1,
as `--label-smoothing 0.1` gives now; the sweep itself patched the loss the same way before the setting existed), wd (AdamW's
decoupled weight decay 0.05), mem2 (a second Linear+ReLU on the grid before attention), att256 (attention size 256
instead of 128), ft (adapt, then fine-tune the encoder with the decoder at a tenth of its learning rate). Each variant
patches the engine in this process only; SETTING=VALUE pairs override CaptionConfig fields (e.g. scenes_per_epoch=19200
for ft, which uses each scene once). It appends one JSON line per run: the variant, seed, settings, seconds and every
epoch's scores. The sweep ran 8 such calls at a time on the GPU machine, after
`python -m core train --model fast --epochs 4 --data cifar10-jpeg.tar.gz --device cuda --out ENCODER_RUN`; its
output is docs/results/caption_variants_h200_jpeg.jsonl."""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import core.caption.model as cap  # noqa: E402
import core.caption.train as ct  # noqa: E402
from core.caption.job import encoder_source  # noqa: E402
from core.data import sources as data  # noqa: E402
from core.training.callbacks import Callbacks, Control  # noqa: E402


def patch(parts: set[str]) -> None:
    if "att256" in parts:
        ct.CaptionConfig.decoder = lambda self: cap.DecoderSpec(cell=self.cell, hidden=self.hidden, attention=256)
    if "wd" in parts:
        groups = ct._param_groups
        ct._param_groups = lambda *a: [dict(g, weight_decay=0.05) for g in groups(*a)]

        class AdamW(torch.optim.AdamW):  # decay per group, none elsewhere (adapting keeps plain Adam)
            def __init__(self, params, lr):
                super().__init__(params, lr=lr, weight_decay=0.0)
        ct.torch = type("T", (), {"optim": type("O", (), {"Adam": AdamW}), "no_grad": torch.no_grad})
    if "mem2" in parts:
        init = cap.AttentionDecoder.__init__

        def two_layers(self, vocab_size, feature_dim, spec):
            init(self, vocab_size, feature_dim, spec)
            self.memory = nn.Sequential(nn.Linear(feature_dim, spec.attention), nn.ReLU(),
                                        nn.Linear(spec.attention, spec.attention), nn.ReLU())
        cap.AttentionDecoder.__init__ = two_layers


def main(src: str, encoder_run: str, variant: str, seed: str, out: str, *settings: str) -> None:
    torch.set_num_threads(2)
    parts = set(variant.split("+"))
    patch(parts)
    dataset = data.load(src)
    encoder = encoder_source(Path(encoder_run), dataset.classes)
    kinds = {f.name: f.type for f in dataclasses.fields(ct.CaptionConfig)}
    cast = {"int": int, "float": float}
    overrides = dict(s.split("=", 1) for s in settings)
    smoothing = 0.1 if "ls" in parts else 0.0  # the sweep's baseline had none: it came before the setting did
    config = ct.CaptionConfig(seed=int(seed), label_smoothing=smoothing,
                              **{k: cast.get(kinds[k], str)(v) for k, v in overrides.items()})
    model = ct.build_captioner(config, dataset.classes, encoder.spec, encoder.state)
    reports, started = [], time.perf_counter()

    def on_epoch(report, _model):
        reports.append(dataclasses.asdict(report))
        print(variant, seed, report.epoch, f"{report.recall:.4f} {report.exact:.4f} {report.train_loss:.4f}",
              f"{time.perf_counter() - started:.0f}s", flush=True)

    if "ft" in parts:  # adapt as the default does, then train the encoder with the decoder
        device = ct.resolve_device(config.device)
        model.to(device)
        steps = max(1, config.scenes_per_epoch // config.batch_size) * config.epochs
        ct._adapt(model, encoder.head, dataset, config, device, Callbacks(), Control(), steps)
        config = dataclasses.replace(config, encoder_mode="finetune")
    result = ct.fit_captioner(model, dataset, config, Callbacks(on_epoch=on_epoch), Control(), pretrained=True,
                              head=encoder.head)
    with open(out, "a") as f:
        f.write(json.dumps({"variant": variant, "seed": int(seed), "overrides": overrides,
                            "seconds": time.perf_counter() - started, "status": str(result.status),
                            "epochs": reports}, default=str) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
