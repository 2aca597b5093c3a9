"""The Train form for a beginner: the essentials first, every other setting in a named section (from its declared
group) whose title says what it is set to."""
import re
from dataclasses import replace

import pytest
from conftest import open_page

from core.bounds import declared, setting_of
from core.models.overview import overview
from core.training.config import TrainConfig
from core.training.presets import PRESETS
from ui.train_form import SECTION_TITLES, WIDGETS, is_off, section_summary, sections


def test_every_setting_on_the_form_sits_in_exactly_one_section_essentials_first():
    laid_out = [n for _, names in sections() for n in names]
    assert sorted(laid_out) == sorted(WIDGETS) and len(laid_out) == len(set(laid_out))
    group, essentials = sections()[0]
    assert group == "essentials" and essentials == ["epochs", "batch_size", "optimizer", "lr"]
    assert {g for g, _ in sections()[1:]} <= set(SECTION_TITLES)


@pytest.mark.parametrize("name", [f.name for f in declared(TrainConfig) if f.name in WIDGETS])
def test_a_setting_reads_as_off_exactly_at_the_value_its_help_declares(name):
    help_text, default = setting_of(TrainConfig, name).help, getattr(TrainConfig(), name)
    if isinstance(default, bool):
        assert is_off(name, False) and not is_off(name, True)
    elif "= off)" in help_text or "= all)" in help_text:
        off = float(re.split(r" = (?:off|all)\)", help_text)[0].rsplit(" ", 1)[-1].lstrip("("))
        assert is_off(name, off) and not is_off(name, off + 1)
    else:
        assert not is_off(name, default)  # nothing declared off: always shown


def test_a_sections_title_names_what_is_on_and_says_all_off_otherwise():
    names = dict(sections())["augmentation"]
    plain = TrainConfig().to_json()
    assert section_summary(names, plain) == "all off"  # the share of images touched matters only with a photo one
    on = replace(TrainConfig(), crop_padding=4, flip=True).to_json()
    assert section_summary(names, on) == "Random crop padding 4 · Random flips"
    photo = replace(TrainConfig(), noise=0.05, photo_share=0.5).to_json()
    summary = section_summary(names, photo)
    assert "Noise 0.05" in summary and "Share of images they touch 0.5" in summary and "Blur" not in summary
    assert section_summary(["flip", "noise"], plain) == "all off"


def test_the_train_page_shows_the_essentials_open_and_each_section_closed_with_its_summary(app_env):
    at = open_page("train")
    at.selectbox(key="train_model").set_value("fast").run()
    titles = [e.label for e in at.expander]
    config = PRESETS["fast"].config.to_json()
    config["holdout"] = min(config["holdout"], 60 // 5)  # the form offers at most a fifth of the 60 tiny images
    for group, names in sections()[1:]:
        title = f"**{SECTION_TITLES[group]}** · {section_summary(names, config)}"
        assert title in titles, title
    assert overview(PRESETS["fast"].spec).line() in [m.value for m in at.markdown]
