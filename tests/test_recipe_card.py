"""The recipe card: every number a preset trains with, named with its unit, printed by the CLI and kept in docs."""
from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from core import recipe
from core.cli.main import main
from core.models.spec import build_model
from core.training.presets import PRESETS
from core.training.recipe_card import RecipeCard, recipe_card, recipes_markdown, show

ROOT = Path(__file__).resolve().parents[1]


def lines_named(card: RecipeCard, name: str) -> list[str]:
    """The text of the card's lines called `name`: value and unit."""
    return [f"{x.value} {x.unit}" for s in card.sections for x in s.lines if x.name == name]


@pytest.mark.parametrize("name", list(PRESETS))
def test_a_card_names_every_setting_of_its_config_with_its_value(name):
    card, config = recipe_card(name), PRESETS[name].config
    for f in fields(config):
        found = lines_named(card, f.name)
        assert len(found) == 1, f"{name}: {f.name} is on the card {len(found)} times"
        assert show(getattr(config, f.name)) in found[0].split(), (f.name, found[0])


@pytest.mark.parametrize("name", list(PRESETS))
def test_a_card_names_every_table_entry_literally_with_its_unit(name):
    card, table = recipe_card(name), PRESETS[name].table
    for f in fields(table):
        if f.name == "layers":
            continue
        [line] = [x for s in card.sections for x in s.lines if x.name == f.name]
        assert line.value == show(getattr(table, f.name)) and line.unit.startswith(f.metadata["unit"])


def test_fast_shows_its_rate_in_airbench_units_and_per_step():
    [lr] = lines_named(recipe_card("fast"), "lr")
    assert lr.startswith("1.5 peak learning rate per 1024 examples") and lr.endswith("lr = 0.75")
    assert 1.5 * 512 / 1024 == PRESETS["fast"].config.lr


def test_fast_names_every_fixed_number_of_the_classifier_recipe():
    """All of core/recipe.py but what fast does not use (another schedule, Adam, learned BatchNorm scales), the
    captioner's numbers and the CPU threading threshold (when to run on one thread is no number of the recipe)."""
    unused = {"ONECYCLE_WARMUP", "ADAM_BETA2", "BN_EPS", "SMALL_BATCH", "CAPTION_ADAPT_LR", "CAPTION_GRAD_CLIP"}
    card = recipe_card("fast")
    for name in [n for n in dir(recipe) if n.isupper()]:
        found = lines_named(card, name)
        assert (not found) if name in unused else found[0].split()[0] == show(getattr(recipe, name)), name


@pytest.mark.parametrize("name", ["seed", "fast"])
def test_the_parameter_groups_cover_every_trainable_number(name):
    card = recipe_card(name)
    groups = [x for s in card.sections for x in s.lines if x.name.startswith("group: ")]
    trainable = sum(p.numel() for p in build_model(PRESETS[name].spec).parameters() if p.requires_grad)
    assert sum(int(x.value.split()[0].replace(",", "")) for x in groups) == trainable
    if name == "fast":
        [shifts] = [x for x in groups if x.name == "group: BatchNorm shifts"]
        assert "learning rate x 64" in shifts.unit and show(0.00133 / 64) in shifts.unit


def test_the_card_has_the_parts_of_a_recipe_in_order():
    titles = [s.title for s in recipe_card("fast").sections]
    assert titles == ["Network", "Data", "Optimizer", "Schedule", "Lookahead", "Precision", "Evaluation"]
    text = recipe_card("fast").to_text()
    assert text.startswith("fast: A narrow airbench-style net") and "TRIANGLE_PEAK_AT" in text


def test_models_recipe_prints_the_card(capsys):
    code = main(["models", "--recipe", "fast"])
    out, err = capsys.readouterr()
    assert code == 0 and out == recipe_card("fast").to_text() and not err


def test_models_recipe_json_puts_the_card_on_the_last_line(capsys):
    code = main(["models", "--recipe", "robust", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0 and json.loads(out.strip().splitlines()[-1]) == {"recipe": recipe_card("robust").to_json()}


def test_models_recipe_of_an_unknown_preset_is_one_error_line_and_exit_2(capsys):
    code = main(["models", "--recipe", "fastest"])
    out, err = capsys.readouterr()
    assert code == 2 and not out
    assert err.strip().splitlines() == ["error: unknown preset 'fastest'; presets: " + ", ".join(PRESETS)]


def test_docs_recipe_md_is_what_the_generator_writes():
    """Regenerate with: python -m core.training.recipe_card --markdown > docs/recipe.md"""
    assert (ROOT / "docs" / "recipe.md").read_text() == recipes_markdown()
    assert all(f"## {name}\n" in recipes_markdown() for name in PRESETS)
