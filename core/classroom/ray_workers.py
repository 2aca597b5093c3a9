"""Class mode's executor: every run a Ray task in a worker process, with its own CPUs (and, on a GPU node, a share of a
GPU). The run folder is the whole contract: the worker reads the request from it and writes metrics, summary and
weights to it; Stop and a new learning rate reach it through control.json (core.classroom.remote).

Measured traps this module is built around (docs/classroom.md has the figures):
- ray.init() from a thread that ends (a Streamlit script run) is torn down with that thread, so Ray is owned by a
  daemon thread that lives as long as the server, which also watches the tasks end.
- Tasks are retried by default; a retried run would append to its own metrics. Retries are off: a run whose worker
  died is marked failed, with the weights of its last finished epoch.
- Torch threads must match the CPUs a task was given, or runs sharing cores slow each other down many times over.
- Ray runs code for whoever reaches its ports: a local instance binds to 127.0.0.1 (Ray's token authentication is on
  by default); a cluster needs a private network."""
from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

from core.classroom.executors import Ended
from core.classroom.remote import ControlFollower, RemoteRun
from core.classroom.requests import RunRequest, build_job, mark, read_request
from core.data.store import DatasetStore
from core.errors import UserError
from core.jobs.registry import JobRegistry
from core.runs.folder import log_traceback
from core.runs.layout import RunFolder, write_json
from core.training.status import RunStatus

PROJECT = Path(__file__).resolve().parents[2]  # workers import `core` from here (the same path on every node)
CPUS_PER_RUN = int(os.environ.get("CIFAR10_RAY_CPUS_PER_RUN", "1"))
GPU_SHARE = float(os.environ.get("CIFAR10_RAY_GPU_SHARE", "0"))  # e.g. 0.25: four runs share one GPU
WAIT_S = 0.5  # how often the owner thread looks for tasks that ended

_worker_datasets: DatasetStore | None = None  # per worker process: Ray reuses workers, so each decodes a source once


def train_in_worker(folder: str, runs_root: str, cpus: int, cwd: str) -> str:
    """The Ray task: build the run's job from its folder and train it here, following control.json. Returns the
    final status; raises only for what the job itself could not record."""
    import torch

    global _worker_datasets
    os.chdir(cwd)  # data sources may be paths relative to where the server runs (one task per worker at a time)
    torch.set_num_threads(max(1, cpus))  # the CPUs Ray gave this task, no more
    _worker_datasets = _worker_datasets or DatasetStore()
    write_json(RunFolder(Path(folder)).worker, {"pid": os.getpid(), "node": socket.gethostname()})
    request = read_request(Path(folder))
    job = build_job(request, _worker_datasets.get(request.source), Path(folder), Path(runs_root))
    with ControlFollower(Path(folder), job.control):
        job.run_here()
    return str(job.snapshot().status)


class RayExecutor:
    """Starts a local Ray on 127.0.0.1, or attaches to the cluster at $RAY_ADDRESS, from a thread of its own."""

    in_process = False

    def __init__(self, registry: JobRegistry, datasets: DatasetStore, runs_root: Path, num_cpus: int | None = None):
        self.registry, self.runs_root = registry, Path(runs_root).resolve()
        self.num_cpus = num_cpus
        self._ready = threading.Event()
        self._problem: str | None = None
        self._tasks: dict = {}  # ObjectRef -> (RemoteRun, on_end)
        self._lock = threading.Lock()
        threading.Thread(target=self._own_ray, name="ray-owner", daemon=True).start()

    def start(self, run_id: str, request: RunRequest, folder: Path, job, on_end: Ended) -> RemoteRun:
        self._ready.wait()
        if self._problem:
            raise UserError(f"Ray is not available ({self._problem}); set CIFAR10_EXECUTOR=thread, or fix Ray")
        handle = RemoteRun(folder, request.kind)
        options = {"num_cpus": CPUS_PER_RUN, "max_retries": 0}
        if GPU_SHARE:
            options["num_gpus"] = GPU_SHARE
        ref = self._remote.options(**options).remote(str(folder.resolve()), str(self.runs_root), CPUS_PER_RUN,
                                                      os.getcwd())
        with self._lock:
            self._tasks[ref] = (handle, on_end)
        return self.registry.adopt(handle)

    def _own_ray(self) -> None:
        try:
            import ray

            settings = {k: v for k, v in os.environ.items() if k.startswith("CIFAR10_")}  # data and runs folders
            env = {"env_vars": {"PYTHONPATH": str(PROJECT), **settings}}
            if os.environ.get("RAY_ADDRESS"):
                ray.init(address=os.environ["RAY_ADDRESS"], runtime_env=env, log_to_driver=False)
            else:
                ray.init(num_cpus=self.num_cpus or os.cpu_count(), include_dashboard=False, runtime_env=env,
                         _node_ip_address="127.0.0.1", log_to_driver=False)
            self._remote = ray.remote(train_in_worker)
        except Exception as exc:  # not installed, or the cluster unreachable: every start says so
            self._problem = f"{type(exc).__name__}: {exc}"
            self._ready.set()
            return
        self._ready.set()
        while True:  # this thread owns Ray for the server's lifetime: it must never end
            self._collect(ray)

    def _collect(self, ray) -> None:
        with self._lock:
            refs = list(self._tasks)
        if not refs:
            threading.Event().wait(WAIT_S)
            return
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=WAIT_S)
        for ref in done:
            with self._lock:
                handle, on_end = self._tasks.pop(ref)
            try:
                ray.get(ref)
            except Exception as exc:  # the worker died (killed, out of memory) or the task raised
                log_traceback(handle.folder, "the worker training this run ended abnormally")
                mark(handle.folder, RunStatus.FAILED, f"the worker process training it died ({type(exc).__name__}); "
                                                      "the weights from its last finished epoch are kept")
            handle.finished()
            on_end(handle.id)
