"""Class mode in a real browser: two students and the teacher, each in their own browser context, on one server.
A student trains a run (it waits its turn when the slot is taken), the other cannot open it by its address or find it
in a picker, and the teacher sees both students' runs and the queue on the Class page."""
from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from conftest import write_tree

from bench.browser import (
    ARGS,
    CHROMIUM,
    ServerFailed,
    choose,
    dashboard_server,
    nav,
    wait_for,
)
from core.classroom.accounts import AccountBook

pytestmark = pytest.mark.slow  # a real server and Chromium

SHOTS = Path(__file__).resolve().parents[1] / "screenshots" / "class"
PASSWORDS = {"alice": "alice's password", "bob": "bob's password", "teach": "the teacher's"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    book = AccountBook(tmp / "accounts.json")
    for name, password in PASSWORDS.items():
        book.add(name, password, teacher=name == "teach")
    env = {"CIFAR10_DATA": str(write_tree(tmp / "tree", per_class=(20, 5))), "CIFAR10_ROOT": str(tmp / "data"),
           "CIFAR10_RUNS": str(tmp / "runs"), "CIFAR10_ACCOUNTS": str(book.path),
           "CIFAR10_EXECUTOR": "thread", "CIFAR10_SLOTS": "1"}  # Ray's own path: tests/test_classroom_ray.py
    try:
        with dashboard_server(env, tmp / "server.log") as base:
            yield base
    except ServerFailed as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


@contextlib.contextmanager
def shot(page, name: str):
    try:
        yield
        page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
    except Exception as exc:
        page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
        raise AssertionError(f"step {name!r} failed (screenshot: {SHOTS / name}.png): {exc}") from exc


def sign_in(browser, base: str, name: str):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(30_000)
    page.goto(base)
    page.get_by_role("textbox", name="Name").fill(name)
    page.get_by_role("textbox", name="Password").fill(PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {name}").wait_for()
    return page


def start_run(page, epochs: str) -> str:
    nav(page, "Train")
    page.locator(".st-key-train_model").wait_for(timeout=90_000)  # a first visit imports the page's modules
    choose(page, "train_model", "seed")
    page.locator(".st-key-seed_epochs input").fill(epochs)
    page.locator(".st-key-seed_batch input").fill("4")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Run ", exact=False).filter(has_text=" · ").first.wait_for(timeout=60_000)
    href = lambda: page.evaluate("location.href")  # noqa: E731  (page.url misses history.replaceState)
    wait_for(lambda: "run=" in href(), what="the run's address", timeout=60)
    return href().split("run=")[1]


def test_two_students_and_a_teacher_share_one_server(server, browser):
    visitor = browser.new_page()
    with shot(visitor, "00-sign-in-required"):
        visitor.goto(f"{server}/train")
        visitor.get_by_role("button", name="Sign in").wait_for()
        assert visitor.get_by_role("button", name="Start training").count() == 0  # no page before sign-in
    alice = sign_in(browser, server, "alice")
    with shot(alice, "01-alice-trains"):
        first = start_run(alice, "200")  # holds the one slot a while
        alice.get_by_role("button", name="Stop").wait_for(timeout=60_000)
    bob = sign_in(browser, server, "bob")
    with shot(bob, "02-bob-waits-his-turn"):
        start_run(bob, "1")
        bob.get_by_text("Waiting in the queue: place 1 of 1").wait_for()
    with shot(bob, "03-bob-cannot-open-alices-run"):
        bob.goto(f"{server}/train?run={first}")  # a typed address is a new session: he signs in again, on it
        bob.get_by_role("textbox", name="Name").fill("bob")
        bob.get_by_role("textbox", name="Password").fill(PASSWORDS["bob"])
        bob.get_by_role("button", name="Sign in").click()
        bob.get_by_text(f"No classifier run called {first} was found.").wait_for()
        assert bob.get_by_role("button", name="Stop").count() == 0
        assert first not in bob.locator(".st-key-compare_runs").inner_text()
    teacher = sign_in(browser, server, "teach")
    with shot(teacher, "04-teacher-class-page"):
        nav(teacher, "Class")
        teacher.get_by_text("The queue").wait_for()
        wait_for(lambda: "alice" in teacher.locator("[data-testid='stDataFrame']").first.inner_text()
                 or teacher.get_by_text("alice").count() > 0, what="alice's run on the Class page")
    with shot(alice, "05-alice-stops"):
        alice.get_by_role("button", name="Stop").click()
        alice.get_by_text("Stopped.").wait_for(timeout=60_000)
    with shot(teacher, "06-bobs-run-started-and-finished"):
        teacher.reload()
        teacher.get_by_role("textbox", name="Name").fill("teach")
        teacher.get_by_role("textbox", name="Password").fill(PASSWORDS["teach"])
        teacher.get_by_role("button", name="Sign in").click()
        teacher.get_by_text("Nobody is waiting").wait_for(timeout=60_000)
    assert "Class" not in alice.locator("[data-testid='stSidebarNav']").inner_text()
