"""`lr-find`: the learning-rate range test from the command line, with a suggested peak rate."""
from __future__ import annotations

from core.cli._common import DATA_HELP, add_json, load_spec, loading_progress, say
from core.cli._flags import add_setting_flags, given
from core.data import sources as datasets
from core.jobs.lr_find import LRFinderJob
from core.training.config import ConfigError, TrainConfig, with_overrides
from core.training.lr_find import LRFindConfig
from core.training.presets import PRESETS
from core.training.status import RunStatus

TRAIN_SETTINGS = ("batch_size", "optimizer", "device")  # the rest of the run's settings are the preset's


def add_parser(subparsers) -> None:
    lr_find = subparsers.add_parser("lr-find", help="learning-rate range test: the loss against an exponentially "
                                                    "growing learning rate, and a suggested peak rate")
    lr_find.add_argument("--data", help=DATA_HELP)
    lr_find.add_argument("--model", default="seed", help=f"a preset ({', '.join(PRESETS)}) or a spec .json file "
                                                         "(default: seed); its batch size, optimizer and augmentation")
    add_setting_flags(lr_find, TrainConfig, TRAIN_SETTINGS, default="preset default otherwise")
    add_setting_flags(lr_find, LRFindConfig)
    add_json(lr_find)
    lr_find.set_defaults(handler=cmd_lr_find)


def cmd_lr_find(args) -> dict:
    spec, config = load_spec(args.model)
    config = with_overrides(config, **given(args, TrainConfig, TRAIN_SETTINGS))
    settings = LRFindConfig(**given(args, LRFindConfig)).check()
    dataset = datasets.load(args.data, progress=loading_progress(args))
    say(args, f"learning-rate range test of {spec.name}: {settings.steps} steps of {config.batch_size} images, "
              f"lr {settings.start_lr:g} -> {settings.end_lr:g}")
    job = LRFinderJob(spec, dataset, config, settings).start()
    try:
        while not job.join(1.0):
            r = job.snapshot()
            if r.lrs:
                say(args, f"step {len(r.lrs)}/{settings.steps}  lr {r.lrs[-1]:.3g}  loss {r.losses[-1]:.3f}")
    except KeyboardInterrupt:
        job.stop()
        job.join()
    result = job.snapshot()
    if result.status == RunStatus.FAILED:
        raise ConfigError(f"the range test failed: {result.reason}")
    if not args.json:
        print(f"suggested learning rate: {result.suggested:.3g}" if result.suggested else
              "no suggestion: the loss did not fall over the range; try a wider range or more steps")
    return result.to_json()
