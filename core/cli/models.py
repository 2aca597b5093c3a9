"""`models`: the presets, with their parameters and multiply-accumulates; `--recipe NAME`, one preset's whole recipe."""
from __future__ import annotations

from core.cli._common import add_json
from core.models.spec import summarize
from core.training.presets import PRESETS
from core.training.recipe_card import recipe_card


def add_parser(subparsers) -> None:
    models = subparsers.add_parser("models", help="the presets with parameters and multiply-accumulates")
    models.add_argument("--recipe", metavar="NAME", help="a preset's whole recipe, every number with its unit")
    add_json(models)
    models.set_defaults(handler=cmd_models)


def cmd_models(args) -> dict:
    if args.recipe:
        card = recipe_card(args.recipe)
        if not args.json:
            print(card.to_text(), end="")
        return {"recipe": card.to_json()}
    rows = []
    for preset in PRESETS.values():
        s = summarize(preset.spec)
        rows.append({"name": preset.name, "parameters": s.parameters, "macs": s.macs, "description": preset.description})
        if not args.json:
            print(f"{preset.name:<14} {s.parameters:>10,} params {s.macs:>14,} MACs  {preset.description}")
    return {"models": rows}
