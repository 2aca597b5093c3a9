"""A preset's whole recipe on one card, every number with its unit: the preset's table (core/training/presets.py),
the fixed numbers it runs with (core/recipe.py) and what follows from them (layers, parameter groups, steps).

`python -m core models --recipe NAME` prints one card; `python -m core.training.recipe_card --markdown` writes
docs/recipe.md, every preset's card (a test fails when the file differs from what this writes)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, fields

from torch import nn

from core import recipe
from core.data.batches import steps_per_epoch
from core.models.layers import BatchNorm2d, PatchWhiten
from core.models.spec import build_model, summarize
from core.training.config import TrainConfig
from core.training.optim import make_optimizer
from core.training.presets import GROUPS, PRESETS, Preset, get_preset

CIFAR10_TRAIN = 50_000  # images in CIFAR-10's training split, for the steps a run takes on it

_TRAIN_FIELDS = {f.name: f for f in fields(TrainConfig)}

# Where a TrainConfig setting that a preset's table leaves at its default shows on the card.
CONFIG_GROUP = {
    "network": ("whiten_bias_epochs",),
    "data": ("crop_padding", "pad_mode", "flip", "crop_scale", "color_jitter", "erasing", "noise", "blur",
             "photo_share", "photo_apart", "consistency", "early_epochs", "early_size", "limit_train", "holdout",
             "seed"),
    "optimizer": ("optimizer", "lr", "muon_lr", "momentum", "nesterov", "weight_decay", "lr_bias_scale",
                  "label_smoothing"),
    "schedule": ("epochs", "batch_size", "schedule", "patience"),
    "lookahead": ("lookahead",),
    "precision": ("precision", "channels_last", "compile", "device"),
    "evaluation": ("tta",),
}
AT_DEFAULT = "TrainConfig's default"


def _at_default(name: str) -> str:
    """The unit declared on the TrainConfig field (core/bounds.py), then where the value comes from."""
    unit = _TRAIN_FIELDS[name].metadata["setting"].unit
    return f"{unit}, {AT_DEFAULT}" if unit else AT_DEFAULT


@dataclass(frozen=True)
class Line:
    name: str  # a table entry or TrainConfig setting (lower case), or a core/recipe.py constant (capitals)
    value: str
    unit: str


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class RecipeCard:
    name: str
    description: str
    sections: tuple[Section, ...]

    def to_text(self) -> str:
        lines = [line for s in self.sections for line in s.lines]
        wide_name, wide_value = max(len(x.name) for x in lines), max(len(x.value) for x in lines)
        out = [f"{self.name}: {self.description}"]
        for s in self.sections:
            out += ["", s.title] + [f"  {x.name:<{wide_name}}  {x.value:<{wide_value}}  {x.unit}" for x in s.lines]
        return "\n".join(out) + "\n"

    def to_markdown(self) -> str:
        out = [f"## {self.name}", "", self.description]
        for s in self.sections:
            out += ["", f"### {s.title}", "", "| | value | unit |", "|---|---|---|"]
            out += [f"| `{x.name}` | {x.value} | {x.unit} |" for x in s.lines]
        return "\n".join(out) + "\n"

    def to_json(self) -> dict:
        return {"name": self.name, "description": self.description,
                "sections": [{"title": s.title, "lines": [vars(x) for x in s.lines]} for s in self.sections]}


def show(value) -> str:
    """A value as the card writes it: floats shortest (0.00133, 1e-12), flags yes/no, the rest as Python does."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def recipe_card(name: str) -> RecipeCard:
    """The card of preset `name` (KeyError naming the presets when there is none)."""
    preset = get_preset(name)
    settings = _settings(preset)
    extra = {"network": _network(preset), "data": _data(preset.config), "optimizer": _optimizer(preset),
             "schedule": _schedule(preset.config), "lookahead": _lookahead(preset.config), "precision": (),
             "evaluation": _evaluation(preset.config)}
    sections = tuple(Section(group.capitalize(), tuple(settings[group]) + tuple(extra[group])) for group in GROUPS)
    return RecipeCard(preset.name, preset.description, sections)


def _settings(preset: Preset) -> dict[str, list[Line]]:
    """Per group: the table's entries with their units, then the TrainConfig settings the table leaves at default."""
    table, config = preset.table, preset.config
    groups: dict[str, list[Line]] = {group: [] for group in GROUPS}
    for f in fields(table):
        if f.name == "layers":
            continue  # the network section lists the layers
        value, unit = getattr(table, f.name), f.metadata["unit"]
        if hasattr(config, f.name) and getattr(config, f.name) != value:
            unit += f" -> TrainConfig {f.name} = {show(getattr(config, f.name))}"
        groups[f.metadata["group"]].append(Line(f.name, show(value), unit))
    named = {f.name for f in fields(table)}
    for group, names in CONFIG_GROUP.items():
        groups[group] += [Line(n, show(getattr(config, n)), _at_default(n)) for n in names if n not in named]
    return groups


def _network(preset: Preset) -> list[Line]:
    summary = summarize(preset.spec)
    lines = [Line(f"layer {info.index}", info.name, f"-> {'x'.join(map(str, info.output_shape))}, "
                                                    f"{info.parameters:,} parameters") for info in summary.layers]
    lines += [Line("parameters", f"{summary.parameters:,}", "numbers the network holds"),
              Line("macs", f"{summary.macs:,}", "multiply-accumulates per image")]
    if any(isinstance(layer, PatchWhiten) for layer in preset.spec.layers):
        lines += [Line("WHITEN_IMAGES", show(recipe.WHITEN_IMAGES), "training images whose patches set the whitening"),
                  Line("WHITEN_EPS", show(recipe.WHITEN_EPS), "added to each eigenvalue of the patch covariance "
                                                              "(normalized pixels squared)")]
    norms = [layer for layer in preset.spec.layers if isinstance(layer, BatchNorm2d)]
    if any(n.learn_scale for n in norms):
        lines.append(Line("BN_EPS", show(recipe.BN_EPS), "added to each channel's variance"))
    if any(not n.learn_scale for n in norms):
        lines.append(Line("BN_EPS_FIXED_SCALE", show(recipe.BN_EPS_FIXED_SCALE),
                          "added to the variance where the scale stays 1"))
    return lines


def _data(config: TrainConfig) -> list[Line]:
    lines = [Line("NORMALIZE_MEAN", show(recipe.NORMALIZE_MEAN), "pixel units (0 black, 1 white), subtracted"),
             Line("NORMALIZE_STD", show(recipe.NORMALIZE_STD), "pixel units, divided by: pixels span -1..1")]
    if config.holdout:
        lines += [Line("HOLDOUT_SEED", show(recipe.HOLDOUT_SEED), "picks the held-out images, the same every run"),
                  Line("HOLDOUT_MAX_SHARE", show(recipe.HOLDOUT_MAX_SHARE), "most of a dataset ever held out")]
    return lines


def _optimizer(preset: Preset) -> list[Line]:
    """The parameter groups the training loop builds for this preset, with their rate and decay per step."""
    model = build_model(preset.spec, seed=0)
    shifts = {id(m.bias) for m in model.modules() if isinstance(m, nn.BatchNorm2d) and m.bias is not None}
    lines = []
    if preset.config.optimizer in ("adam", "adamw"):
        lines.append(Line("ADAM_BETA2", show(recipe.ADAM_BETA2), "decay per step of the squared-gradient average"))
    optimizer = make_optimizer(model, preset.config)
    by_muon = [id(g) for g in optimizer.muon.param_groups] if getattr(optimizer, "muon", None) else []
    for group in optimizer.param_groups:
        params = group["params"]
        kind = ("conv filters, by Muon" if id(group) in by_muon else "BatchNorm shifts" if id(params[0]) in shifts
                else "weights" if params[0].ndim > 1 else "other vectors (biases)")
        lines.append(Line(f"group: {kind}", f"{sum(p.numel() for p in params):,} numbers",
                          f"in {len(params)} tensor{'s' if len(params) > 1 else ''}; learning rate x {show(group['lr_scale'])}, weight decay "
                          f"{show(group['weight_decay'])} per step x learning rate"))
    return lines


def _schedule(config: TrainConfig) -> list[Line]:
    shape = {
        "triangle": [Line("TRIANGLE_START", show(recipe.TRIANGLE_START), "x peak at the first step"),
                     Line("TRIANGLE_PEAK_AT", show(recipe.TRIANGLE_PEAK_AT), "share of the run where the peak is"),
                     Line("TRIANGLE_END", show(recipe.TRIANGLE_END), "x peak at the last step")],
        "onecycle": [Line("ONECYCLE_WARMUP", show(recipe.ONECYCLE_WARMUP), "share of the run rising from 0 to "
                                                                             "the peak; then down to 0")],
        "cosine": [Line("cosine", "1 -> 0", "x peak, half a cosine over the run")],
    }.get(config.schedule, [])
    images = CIFAR10_TRAIN - min(config.holdout, int(CIFAR10_TRAIN * recipe.HOLDOUT_MAX_SHARE))
    if config.limit_train:
        images = min(images, config.limit_train)
    per_epoch = steps_per_epoch(images, config.batch_size)
    return shape + [Line("steps", f"{per_epoch:,} x {config.epochs} = {per_epoch * config.epochs:,}",
                         f"per epoch x epochs on CIFAR-10's {images:,} training images left after the holdout")]


def _lookahead(config: TrainConfig) -> list[Line]:
    if not config.lookahead:
        return []
    return [Line("LOOKAHEAD_EVERY", show(recipe.LOOKAHEAD_EVERY), "steps between pulls towards the slow average"),
            Line("LOOKAHEAD_START", show(recipe.LOOKAHEAD_START), "share of the run before the average starts"),
            Line("LOOKAHEAD_DECAY", show(recipe.LOOKAHEAD_DECAY), "per step: a pull moves the average by "
                                                                  "1 - DECAY ** EVERY x progress ** 3")]


def _evaluation(config: TrainConfig) -> list[Line]:
    lines = [Line("EVAL_BATCH", show(recipe.EVAL_BATCH), "images per forward pass when scoring")]
    if config.tta >= 2:
        lines.append(Line("TTA_SHIFT", show(recipe.TTA_SHIFT), "pixels of the diagonal shifts averaged over "
                                                               "(reflect-padded)"))
    return lines


def recipes_markdown() -> str:
    """docs/recipe.md: every preset's card."""
    head = ("# The presets' recipes\n\n"
            "Every number each preset trains with, and its unit. Generated from the preset tables "
            "(core/training/presets.py) and the fixed numbers (core/recipe.py) by\n"
            "`python -m core.training.recipe_card --markdown > docs/recipe.md`; a test fails when this file differs. "
            "Names in capitals are core/recipe.py constants; the others are table entries and TrainConfig settings "
            "(flags of `python -m core train`). One card: `python -m core models --recipe NAME`.\n")
    return "\n".join([head] + [recipe_card(name).to_markdown() for name in PRESETS])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m core.training.recipe_card", description=__doc__.split("\n")[0])
    parser.add_argument("name", nargs="?", default="fast", help="a preset (default fast)")
    parser.add_argument("--markdown", action="store_true", help="every preset's card as docs/recipe.md")
    args = parser.parse_args(argv)
    print(recipes_markdown() if args.markdown else recipe_card(args.name).to_text(), end="")


if __name__ == "__main__":
    main()
