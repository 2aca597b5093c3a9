"""The scheduler: Start never fails for capacity, runs start in fair order, a queued run can be cancelled, and the
queue survives a restart because the run folders are the queue."""
import os
import subprocess
import sys
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from core.classroom.executors import ThreadExecutor
from core.classroom.queue import MAX_WAITING_PER_OWNER
from core.classroom.requests import RunRequest, read_request
from core.classroom.scheduler import (
    QueueFullError,
    Scheduler,
    TaskRequest,
    executor_settings,
)
from core.errors import UserError
from core.jobs.worker import Worker
from core.models.layers import Linear
from core.models.spec import ModelSpec
from core.runs.folder import list_runs, read_summary, run_path
from core.runs.layout import RunError, RunFolder
from core.training.status import RunStatus
from tests.conftest import SMALL_CONFIG, SMALL_SPEC

QUICK = replace(SMALL_CONFIG, epochs=1)
ROOT = Path(__file__).resolve().parents[1]


def request(dataset, owner, epochs=1):
    return RunRequest.classifier(SMALL_SPEC, replace(QUICK, epochs=epochs), dataset.source, owner)


def wait_all_done(root, ids, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        statuses = {rid: read_summary(run_path(rid, root)).status for rid in ids}
        if all(s in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.STOPPED, RunStatus.CANCELLED)
               for s in statuses.values()):
            return statuses
        time.sleep(0.1)
    raise AssertionError(f"not done in {timeout} s: {statuses}")


@pytest.fixture
def root(tmp_path):
    return tmp_path / "runs"


def test_more_runs_than_slots_all_finish_in_fair_order(tiny_dataset, root):
    paused = Scheduler(root, slots=0)  # everything waits (a tiny run could end before the next is asked for)
    asked = [(owner, paused.submit(request(tiny_dataset, owner), tiny_dataset))
             for owner in ("ann", "ann", "ann", "bob", "cy")]
    Scheduler(root, slots=1)  # the server again, with one slot
    statuses = wait_all_done(root, [rid for _, rid in asked])
    assert set(statuses.values()) == {RunStatus.FINISHED}
    started = sorted(asked, key=lambda a: read_summary(run_path(a[1], root)).created)
    assert [owner for owner, _ in started] == ["ann", "bob", "cy", "ann", "ann"]
    assert [RunFolder(run_path(rid, root)).owner for _, rid in asked] == ["ann", "ann", "ann", "bob", "cy"]


def test_a_waiting_run_shows_its_place_and_can_be_cancelled_without_ever_training(tiny_dataset, root):
    scheduler = Scheduler(root, slots=1)
    first = scheduler.submit(request(tiny_dataset, "ann", epochs=30), tiny_dataset)
    second = scheduler.submit(request(tiny_dataset, "bob"), tiny_dataset)
    place = scheduler.place_of(second)
    assert (place.place, place.of) == (1, 1)
    assert read_summary(run_path(second, root)).status == RunStatus.QUEUED
    assert scheduler.cancel(second)
    assert scheduler.place_of(second) is None
    assert scheduler.cancel(first)  # training: stopped, its weights so far kept
    statuses = wait_all_done(root, [first, second])
    assert statuses == {first: RunStatus.STOPPED, second: RunStatus.CANCELLED}
    assert not RunFolder(run_path(second, root)).metrics.exists()  # it never trained a step
    assert not scheduler.cancel(second)


def test_one_student_may_keep_only_so_many_runs_waiting(tiny_dataset, root):
    scheduler = Scheduler(root, slots=0)  # nothing starts: everything waits
    for _ in range(MAX_WAITING_PER_OWNER):
        scheduler.submit(request(tiny_dataset, "ann"), tiny_dataset)
    with pytest.raises(QueueFullError, match=f"you have {MAX_WAITING_PER_OWNER} runs waiting already"):
        scheduler.submit(request(tiny_dataset, "ann"), tiny_dataset)
    scheduler.submit(request(tiny_dataset, "bob"), tiny_dataset)  # others are not held up by it
    assert len(scheduler.queue()) == MAX_WAITING_PER_OWNER + 1


def test_the_queue_survives_a_restart_of_the_server(tiny_dataset, root):
    before = Scheduler(root, slots=0)
    ids = [before.submit(request(tiny_dataset, owner), tiny_dataset) for owner in ("ann", "bob")]
    assert read_request(run_path(ids[0], root)).owner == "ann"
    after = Scheduler(root, slots=1)  # a new process: it finds the requests in their folders
    assert set(wait_all_done(root, ids).values()) == {RunStatus.FINISHED}
    assert len(after.queue()) == 0


def test_a_request_that_cannot_train_is_refused_before_anything_is_written(tiny_dataset, root):
    scheduler = Scheduler(root, slots=1)
    broken = ModelSpec((Linear(10), Linear(3)), name="broken")  # 3 outputs for 10 classes
    with pytest.raises(ValueError):
        scheduler.submit(RunRequest.classifier(broken, QUICK, tiny_dataset.source, "ann"), tiny_dataset)
    assert list_runs(root) == []


def test_a_request_damaged_while_it_waited_fails_with_the_reason_and_the_queue_goes_on(tiny_dataset, root):
    before = Scheduler(root, slots=0)
    bad, good = (before.submit(request(tiny_dataset, owner), tiny_dataset) for owner in ("ann", "bob"))
    RunFolder(run_path(bad, root)).request.write_text("{not json")
    Scheduler(root, slots=1)
    statuses = wait_all_done(root, [bad, good])
    assert statuses == {bad: RunStatus.FAILED, good: RunStatus.FINISHED}
    assert "request.json" in read_summary(run_path(bad, root)).reason


def test_a_request_round_trips_through_its_json(tiny_dataset):
    asked = request(tiny_dataset, "ann", epochs=3)
    assert RunRequest.from_json(asked.to_json()) == asked
    with pytest.raises(RunError, match="damaged"):
        RunRequest.from_json({**asked.to_json(), "kind": "robot"})


def test_personal_mode_trains_in_threads_and_never_imports_ray():
    code = ("import sys; from core.classroom.scheduler import Scheduler, executor_settings; "
            "s = executor_settings(False); assert s['executor'].func.__name__ == 'ThreadExecutor', s; "
            "assert s['executor'].keywords == {'share_cores': False}; assert 'ray' not in sys.modules; print('ok')")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIFAR10_", "RAY_"))}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "ok", done.stderr


@pytest.mark.parametrize("setting,expected", [(None, "RayExecutor"), ("ray", "RayExecutor"),
                                              ("thread", "ThreadExecutor")])
def test_class_mode_trains_in_ray_workers_unless_told_threads(monkeypatch, setting, expected):
    if setting is None:
        monkeypatch.delenv("CIFAR10_EXECUTOR", raising=False)
    else:
        monkeypatch.setenv("CIFAR10_EXECUTOR", setting)
    chosen = executor_settings(True)["executor"]
    assert getattr(chosen, "func", chosen).__name__ == expected


def test_an_unknown_executor_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("CIFAR10_EXECUTOR", "dask")
    with pytest.raises(UserError, match="CIFAR10_EXECUTOR must be 'thread' or 'ray', not 'dask'"):
        executor_settings(True)


def test_runs_side_by_side_in_class_mode_threads_share_the_cores(tiny_dataset, root):
    scheduler = Scheduler(root, slots=2, executor=partial(ThreadExecutor, share_cores=True))
    assert scheduler.executor.threads == max(1, (os.cpu_count() or 1) // 2)
    assert Scheduler(root, slots=2).executor.threads is None  # personal mode: torch's own count, as always


class Recorded(Worker):
    """A task that notes when it ran."""

    def __init__(self, log: list, name: str):
        super().__init__(name)
        self.log, self.name = log, name

    def _run(self) -> None:
        self.log.append(self.name)


def test_the_learning_rate_finder_waits_its_turn_in_the_same_queue(tiny_dataset, root):
    scheduler, log = Scheduler(root, slots=1), []
    run = scheduler.submit(request(tiny_dataset, "ann", epochs=30), tiny_dataset)
    finder = Recorded(log, "bob's finder")
    task = scheduler.submit_task(TaskRequest("lr-find", "bob", time.time()), finder)
    assert finder.waiting and scheduler.place_of(task).place == 1
    cancelled = Recorded(log, "cy's finder")
    scheduler.cancel(scheduler.submit_task(TaskRequest("lr-find", "cy", time.time()), cancelled))
    scheduler.cancel(run)  # its slot frees: bob's finder runs, cy's never does
    wait_all_done(root, [run])
    assert finder.join(30) and log == ["bob's finder"] and cancelled.waiting
