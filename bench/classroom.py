"""A class on one server, simulated: `python -m bench.classroom [--users 20] [--starts-per-user 3]
[--executor thread|ray] [--cpus N] [--tabs 3] [--data SRC] [--json]`.

Every student presses Start their K times at the start of the lesson, in a shuffled order, through Scheduler.submit, the
call the Train page makes (the first two presses take the two idle slots, whoever made them). Each run is 1 epoch of the tutorial's
network on a small slice of CIFAR-10 (100 training and 20 test pictures per class, written as a class-folder tree).
Meanwhile a real dashboard in class mode answers /_stcore/health every 0.2 s and a few Chromium tabs signed in as
students and the teacher reload the Train and Class pages. With Ray, one more run (3 epochs) is killed with SIGKILL
after its first epoch to see it marked failed while the class goes on. Prints a table and one JSON line with the keys
users, runs, finished, lost, max_concurrent, first_round_users, start_max_s, health_p99_s, health_max_s,
page_render_max_s, page_renders, tabs_problem, killed_run_status, killed_failed_after_s, others_finished_after_kill,
seconds."""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import tempfile
import threading
import time
import urllib.request
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from bench import DATA_HELP, default_data
from bench.browser import ARGS, CHROMIUM, dashboard_server
from core.classroom.accounts import AccountBook
from core.classroom.executors import ThreadExecutor
from core.classroom.requests import RunRequest
from core.classroom.scheduler import Scheduler
from core.data import sources as data
from core.runs.folder import read_summary, run_path
from core.runs.layout import RunFolder
from core.training.presets import PRESETS
from core.training.status import RunStatus

PER_CLASS = (100, 20)  # training and test pictures per class in the slice
ENDED = (RunStatus.FINISHED, RunStatus.STOPPED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.DIVERGED)
PASSWORD = "a class password"  # the simulated accounts' (hashed like any other)


def write_slice(source: str, out: Path) -> str:
    """The first PER_CLASS pictures of each class of each split, as a class-folder tree of PNGs."""
    dataset = data.load(source)
    for split, (xs, ys), n in (("train", (dataset.train_x, dataset.train_y), PER_CLASS[0]),
                               ("test", (dataset.test_x, dataset.test_y), PER_CLASS[1])):
        for label, name in enumerate(dataset.classes):
            folder = out / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i, index in enumerate(np.flatnonzero(ys.numpy() == label)[:n]):
                Image.fromarray(xs[index].permute(1, 2, 0).numpy()).save(folder / f"{i:04d}.png")
    return str(out)


class HealthProbe(threading.Thread):
    """GET /_stcore/health every 0.2 s; the seconds each answer took (a failed request counts as 10 s)."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.base, self.seconds, self.halt = base, [], threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.2):
            started = time.perf_counter()
            try:
                urllib.request.urlopen(f"{self.base}/_stcore/health", timeout=10).read()
                self.seconds.append(time.perf_counter() - started)
            except OSError:
                self.seconds.append(10.0)


class Tabs(threading.Thread):
    """Browser tabs signed in as `names`, each reloading its page until halted (browser_tabs)."""

    def __init__(self, base: str, names: list[str]):
        super().__init__(daemon=True)
        self.base, self.names, self.renders, self.problem = base, names, [], None
        self.ready, self.halt = threading.Event(), threading.Event()

    def run(self) -> None:
        try:
            browser_tabs(self.base, self.names, self.halt, self.renders, self.ready)
        except Exception as exc:  # reported in the output, never lost in the thread
            self.problem = f"{type(exc).__name__}: {str(exc)[:300]}"
        self.ready.set()


def browser_tabs(base: str, names: list[str], halt: threading.Event, renders: list[float],
                 ready: threading.Event) -> None:
    """Each name signs in in its own browser context, then reloads the Train page (the Class page for the teacher)
    until halted; each render's seconds (to its heading) go to `renders`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pages = []
        for name in names:
            page = browser.new_context().new_page()
            page.goto(base)
            page.get_by_role("textbox", name="Name").fill(name)
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="CIFAR-10 Studio").first.wait_for(timeout=60_000)
            pages.append((page, "Class" if name == "teach" else "Train"))
        ready.set()
        while not halt.is_set():
            for page, title in pages:
                started = time.perf_counter()
                page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title).click()
                page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=60_000)
                renders.append(time.perf_counter() - started)
                page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Home").click()
        browser.close()


def status_of(root: Path, run_id: str) -> RunStatus:
    return read_summary(run_path(run_id, root)).status


def kill_after_first_epoch(root: Path, run_id: str) -> tuple[str, float | None]:
    """SIGKILL the worker of `run_id` once its first epoch's weights are saved; (final status, seconds to failed)."""
    folder = run_path(run_id, root)
    while not RunFolder(folder).weights.exists():
        time.sleep(0.1)
    os.kill(json.loads(RunFolder(folder).worker.read_text())["pid"], signal.SIGKILL)
    killed = time.perf_counter()
    while status_of(root, run_id) not in ENDED and time.perf_counter() - killed < 60:
        time.sleep(0.05)
    return str(status_of(root, run_id)), time.perf_counter() - killed


def simulate(args, work: Path) -> dict:
    slice_source = write_slice(args.data or default_data(), work / "slice")
    dataset = data.load(slice_source)
    tutorial = PRESETS["tutorial"]
    config = replace(tutorial.config, epochs=1, batch_size=32, device="cpu")
    names = [f"student{i:02d}" for i in range(args.users)]
    book = AccountBook(work / "accounts.json")
    for name in [*names, "teach"]:
        book.add(name, PASSWORD, teacher=name == "teach")
    if args.executor == "ray":
        from core.classroom.ray_workers import RayExecutor

        executor = partial(RayExecutor, num_cpus=args.cpus)
    else:
        executor = ThreadExecutor
    root = work / "runs"
    scheduler = Scheduler(root, slots=args.cpus if args.executor == "ray" else 2, executor=executor,
                          waiting_cap=args.starts_per_user)
    server_env = {"CIFAR10_ACCOUNTS": str(book.path), "CIFAR10_RUNS": str(work / "server-runs"),
                  "CIFAR10_DATA": slice_source, "CIFAR10_EXECUTOR": "thread"}
    out: dict = {"users": args.users, "executor": args.executor, "cpus": args.cpus}
    with dashboard_server(server_env, log=work / "server.log") as base:
        probe, tabs = HealthProbe(base), Tabs(base, [*names[:args.tabs - 1], "teach"])
        if args.tabs:  # the class signs in before anyone presses Start
            tabs.start()
            tabs.ready.wait(300)
        if args.executor == "ray":  # Ray starts in its own thread: wait for it, so its start is not a student's
            scheduler.executor._ready.wait()
        probe.start()
        started = time.perf_counter()
        starts, ids, concurrent = [], [], [0]
        clicks = [name for name in names for _ in range(args.starts_per_user)]
        random.Random(0).shuffle(clicks)  # everyone presses Start at the start of the lesson, in no set order
        for name in clicks:
            asked = time.perf_counter()
            ids.append((name, scheduler.submit(RunRequest.classifier(tutorial.spec, config, slice_source, name),
                                               dataset)))
            starts.append(time.perf_counter() - asked)
        victim = None
        if args.executor == "ray":
            victim = scheduler.submit(RunRequest.classifier(tutorial.spec, replace(config, epochs=3), slice_source,
                                                            "victim"), dataset)
            killer = {}
            threading.Thread(target=lambda: killer.update(result=kill_after_first_epoch(root, victim)),
                             daemon=True).start()
        while not all(status_of(root, rid) in ENDED for _, rid in ids):
            concurrent.append(len(scheduler.training()))
            time.sleep(0.1)
        out["seconds"] = time.perf_counter() - started
        tabs.halt.set()
        probe.halt.set()
        if args.tabs:
            tabs.join(120)
    statuses = [status_of(root, rid) for _, rid in ids]
    first = sorted(ids, key=lambda item: read_summary(run_path(item[1], root)).created)[:args.users]
    health = sorted(probe.seconds)
    out.update(runs=len(ids), finished=statuses.count(RunStatus.FINISHED),
               lost=sum(s not in ENDED for s in statuses), max_concurrent=max(concurrent),
               first_round_users=len({name for name, _ in first}), start_max_s=max(starts),
               health_p99_s=health[int(0.99 * (len(health) - 1))] if health else None,
               health_max_s=health[-1] if health else None,
               page_render_max_s=max(tabs.renders) if tabs.renders else None, page_renders=len(tabs.renders),
               tabs_problem=tabs.problem,
               killed_run_status=None, killed_failed_after_s=None, others_finished_after_kill=None)
    if victim is not None:
        status, after = killer.get("result", (str(status_of(root, victim)), None))
        out.update(killed_run_status=status, killed_failed_after_s=after,
                   others_finished_after_kill=out["finished"] == out["runs"])
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.classroom", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20, help="students (20)")
    parser.add_argument("--starts-per-user", type=int, default=3, help="runs each student asks for at once (3)")
    parser.add_argument("--executor", choices=("thread", "ray"), default="ray", help="who trains the runs (ray)")
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 2, help="CPUs Ray may use (this machine's)")
    parser.add_argument("--tabs", type=int, default=3, help="browser tabs: students and the teacher (3; 0: none)")
    parser.add_argument("--data", default=None, help=DATA_HELP)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="classroom-") as tmp:
        out = simulate(args, Path(tmp))
    if not args.json:
        for key, value in out.items():
            print(f"{key:<28} {value:.3f}" if isinstance(value, float) else f"{key:<28} {value}")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
