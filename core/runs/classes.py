"""Whether a run and a dataset name the same classes, in the same order: a model's output k means the class its
training data called k, so a run used on data with other classes would answer with the wrong names."""
from __future__ import annotations

from typing import Sequence

from core.data.dataset import DataError


class ClassesError(DataError):
    """A run used with data whose classes are not the ones it was trained on; the message names both lists."""


def check_same_classes(run_id: str, trained: Sequence[str], data: Sequence[str], what: str = "run") -> None:
    """Raise ClassesError unless `trained` (the run's classes) and `data` (the dataset's) are the same list."""
    if tuple(trained) != tuple(data):
        raise ClassesError(f"the {what} {run_id} was trained on other classes ({', '.join(trained)}) than the data has "
                           f"({', '.join(data)})")
