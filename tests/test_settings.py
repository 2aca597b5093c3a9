"""Each setting declared once: every field of every settings dataclass says its label, unit, one help sentence and
group, and its CLI flag and form widget show exactly that help and range."""
from dataclasses import fields

import pytest
from conftest import open_page

from core.bounds import GROUPS, declared, range_text, setting_of
from core.caption.config import CaptionConfig
from core.training.config import TrainConfig, with_overrides
from core.training.lr_find import LRFindConfig

COMMANDS = {TrainConfig: "train", CaptionConfig: "caption-train", LRFindConfig: "lr-find"}  # where each is set
ALL = [(cls, f) for cls in COMMANDS for f in fields(cls)]
N_TRAIN = 60  # the tiny training set of the app_env fixture


def _id(case) -> str:
    return f"{case[0].__name__}.{case[1].name}" if isinstance(case, tuple) else str(case)


def _squeezed(text: str) -> str:
    """Text without its whitespace: argparse wraps help lines wherever it likes, hyphens included."""
    return "".join(text.split())


@pytest.mark.parametrize("case", ALL, ids=_id)
def test_every_setting_is_declared_with_one_help_sentence_and_a_known_group(case):
    cls, f = case
    s = setting_of(cls, f.name)
    assert s.group in GROUPS and s.label and s.help.endswith(".") and ". " not in s.help
    assert ("bounds" in f.metadata) + ("choices" in f.metadata) + (f.type in ("bool", bool)) == 1


def test_a_setting_outside_the_groups_or_with_two_sentences_is_refused_where_it_is_declared():
    from core.bounds import Setting

    with pytest.raises(ValueError, match="group"):
        Setting(label="x", help="One sentence.", group="misc")
    with pytest.raises(ValueError, match="one sentence"):
        Setting(label="x", help="One sentence. And another.", group="data")


@pytest.mark.parametrize("case", ALL, ids=_id)
def test_every_setting_is_a_flag_of_its_command_with_its_help_and_range(case):
    from test_cli import _subparsers

    from core.cli.main import build_parser

    cls, f = case
    command = _subparsers(build_parser())[COMMANDS[cls]]
    shown = _squeezed(command.format_help())
    flag = f"--{f.name.replace('_', '-')}"
    assert _squeezed(flag) in shown and _squeezed(setting_of(cls, f.name).help) in shown, flag
    if "bounds" in f.metadata:
        assert _squeezed(f"{flag} {flag.upper()[2:].replace('-', '_')} {setting_of(cls, f.name).help} "
                         f"({range_text(f)};") in shown, flag
    if "choices" in f.metadata:
        assert _squeezed(f"{flag} {{{','.join(f.metadata['choices'])}}}") in shown, flag


def test_lr_find_offers_its_run_settings_as_the_train_command_describes_them():
    from test_cli import _subparsers

    from core.cli.main import build_parser

    command = _subparsers(build_parser())["lr-find"]
    helps = {a.dest: a.help for a in command._actions}
    trains = {a.dest: a.help for a in _subparsers(build_parser())["train"]._actions}
    assert all(helps[name] == trains[name] for name in ("batch_size", "optimizer", "device"))


def _form_cases(cls):
    return [(cls, f) for f in declared(cls) if f.metadata["setting"].form]


def _check_widget(w, cls, f, high=None):
    s = setting_of(cls, f.name)
    assert w.label == s.label and w.help == s.help, f.name
    if "bounds" in f.metadata:
        b = f.metadata["bounds"]
        top = b.high if high is None else min(b.high, high)
        if type(w).__name__ == "SelectSlider":  # its first and last choices are the range's ends
            assert (float(w.options[0]), float(w.options[-1])) == (b.low, top), f.name
        else:
            assert (w.min, w.max) == (b.low, top), f.name
    if "choices" in f.metadata:
        assert tuple(w.options) == f.metadata["choices"], f.name


def test_every_train_form_widget_shows_its_settings_label_help_and_range(app_env):
    from ui.train_form import WIDGETS

    at = open_page("train")
    at.selectbox(key="train_model").set_value("seed").run()
    narrowed = {"limit_train": N_TRAIN, "holdout": N_TRAIN // 5}  # the form offers no more images than there are
    on_form = _form_cases(TrainConfig)
    assert {f.name for _, f in on_form} == set(WIDGETS)
    for cls, f in on_form:
        _check_widget(at.get_by_key(f"seed_{WIDGETS[f.name][0]}"), cls, f, narrowed.get(f.name))
    labels = {getattr(w, "label", None) for kind in ("number_input", "slider", "select_slider", "selectbox",
                                                      "toggle", "checkbox") for w in getattr(at, kind)}
    hidden = [f.name for f in declared(TrainConfig) if not f.metadata["setting"].form]
    assert hidden and not [n for n in hidden if setting_of(TrainConfig, n).label in labels]  # form=False is true


def test_every_caption_form_widget_shows_its_settings_label_help_and_range(app_env):
    from ui.caption_form import WIDGETS

    at = open_page("caption")
    on_form = _form_cases(CaptionConfig)
    assert {f.name for _, f in on_form} == set(WIDGETS)
    for cls, f in on_form:
        _check_widget(at.get_by_key(WIDGETS[f.name][0]), cls, f)


@pytest.mark.parametrize("optimizer,momentum,kept", [("sgd", 0.9, True), ("adam", 0.9, False), ("sgd", 0.0, False)])
def test_the_nesterov_rule_is_the_same_wherever_a_config_is_made(optimizer, momentum, kept):
    """Checked configs refuse Nesterov without SGD momentum; overrides that leave SGD drop it instead of failing."""
    from core.training.config import ConfigError

    base = TrainConfig(nesterov=True)
    changed = with_overrides(base, optimizer=optimizer, momentum=momentum)
    assert changed.nesterov is kept
    if not kept:
        with pytest.raises(ConfigError, match="nesterov needs the sgd or muon optimizer"):
            TrainConfig(nesterov=True, optimizer=optimizer, momentum=momentum).check()
