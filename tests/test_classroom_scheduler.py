"""The scheduler: Start never fails for capacity, runs start in fair order, a queued run can be cancelled, and the
queue survives a restart because the run folders are the queue."""
import time
from dataclasses import replace

import pytest

from core.classroom.queue import MAX_WAITING_PER_OWNER
from core.classroom.requests import RunRequest, read_request
from core.classroom.scheduler import QueueFullError, Scheduler
from core.models.layers import Linear
from core.models.spec import ModelSpec
from core.runs.folder import list_runs, read_summary, run_path
from core.runs.layout import RunError, RunFolder
from core.training.status import RunStatus
from tests.conftest import SMALL_CONFIG, SMALL_SPEC

QUICK = replace(SMALL_CONFIG, epochs=1)


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
