"""Class mode's Ray path against a local Ray instance on 2 CPUs: runs train in worker processes and leave the same
folder (and the same weights for the same seed) as personal mode; Stop and a new learning rate reach a worker through
its folder; a worker killed mid-run leaves its run failed with its last weights while the others finish."""
import json
import os
import signal
import time
from dataclasses import replace
from functools import partial

import pytest
import torch
from safetensors.torch import load_file

from core.classroom.ray_workers import RayExecutor
from core.classroom.requests import RunRequest
from core.classroom.scheduler import Scheduler
from core.data.sources import load
from core.jobs.registry import TrainingJob
from core.runs.folder import read_history, read_summary, run_path
from core.runs.layout import RunFolder
from core.training.status import RunStatus
from tests.conftest import SMALL_CONFIG, SMALL_SPEC, write_tree

pytestmark = pytest.mark.slow  # a Ray instance takes seconds to start and each worker imports torch
ENDED = (RunStatus.FINISHED, RunStatus.STOPPED, RunStatus.FAILED, RunStatus.CANCELLED)


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    """One local Ray (2 CPUs) and one scheduler for the module: starting Ray is the slow part."""
    root = tmp_path_factory.mktemp("ray-class")
    dataset = load(str(write_tree(root / "tree")), root=root / "data")
    scheduler = Scheduler(root / "runs", slots=2, executor=partial(RayExecutor, num_cpus=2))
    return scheduler, dataset


def ask(server, owner, **settings):
    scheduler, dataset = server
    config = replace(SMALL_CONFIG, **settings)
    return scheduler.submit(RunRequest.classifier(SMALL_SPEC, config, dataset.source, owner), dataset)


def status(server, run_id) -> RunStatus:
    return read_summary(run_path(run_id, server[0].runs_root)).status


def wait_for(condition, timeout=240, what="the runs to end"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_run_trained_by_a_ray_worker_equals_the_same_seed_trained_in_personal_mode(class_server, tmp_path):
    run_id = ask(class_server, "ann", epochs=2, seed=3)
    wait_for(lambda: status(class_server, run_id) in ENDED)
    assert status(class_server, run_id) == RunStatus.FINISHED
    folder = run_path(run_id, class_server[0].runs_root)
    assert RunFolder(folder).owner == "ann" and len(read_history(folder).epochs) == 2
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the worker, which was given one CPU
    try:
        job = TrainingJob(SMALL_SPEC, class_server[1], replace(SMALL_CONFIG, epochs=2, seed=3), tmp_path / "here")
        assert job.start().join(120) and job.snapshot().status == RunStatus.FINISHED
    finally:
        torch.set_num_threads(threads)
    there, here = load_file(RunFolder(folder).weights), load_file(RunFolder(tmp_path / "here").weights)
    assert there.keys() == here.keys() and all(torch.equal(there[k], here[k]) for k in here)


def test_stop_and_a_new_learning_rate_reach_the_worker_through_the_folder(class_server):
    scheduler = class_server[0]
    run_id = ask(class_server, "bob", epochs=400, batch_size=1)
    wait_for(lambda: len(read_history(run_path(run_id, scheduler.runs_root)).steps) > 5, what="steps")
    handle = scheduler.registry.get(run_id)
    handle.set_lr(0.0123)
    wait_for(lambda: [(e.type, e.lr_to) for e in read_history(run_path(run_id, scheduler.runs_root)).events]
             == [("lr", pytest.approx(0.0123))], what="the new learning rate")  # taken by the loop at a step
    handle.stop()
    wait_for(lambda: status(class_server, run_id) in ENDED)
    assert status(class_server, run_id) == RunStatus.STOPPED
    assert [e.type for e in read_history(run_path(run_id, scheduler.runs_root)).events] == ["lr", "stop"]


def test_a_killed_worker_fails_its_run_with_its_last_weights_and_the_others_finish(class_server):
    scheduler = class_server[0]
    doomed = ask(class_server, "cy", epochs=400, batch_size=1)
    folder = run_path(doomed, scheduler.runs_root)
    wait_for(lambda: RunFolder(folder).weights.exists(), what="its first epoch's weights")
    others = [ask(class_server, owner, epochs=1) for owner in ("dan", "eve")]
    os.kill(json.loads(RunFolder(folder).worker.read_text())["pid"], signal.SIGKILL)
    killed = time.time()
    wait_for(lambda: status(class_server, doomed) == RunStatus.FAILED, timeout=30, what="the run to fail")
    assert time.time() - killed < 10
    assert "worker process training it died" in read_summary(folder).reason
    assert load_file(RunFolder(folder).weights)  # the last finished epoch's weights, readable
    wait_for(lambda: all(status(class_server, rid) in ENDED for rid in others))
    assert [status(class_server, rid) for rid in others] == [RunStatus.FINISHED] * 2
