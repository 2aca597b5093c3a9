"""Helpers for driving the dashboard in a real browser, shared by the browser walk (tests/test_browser.py) and the
screenshot and timing scripts in tools/: a dashboard server on a free port, Chromium's flags, and the few page actions
both need. Debian's Chromium driven by Playwright; nothing here imports the tests."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-dev-shm-usage"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerFailed(RuntimeError):
    pass


@contextlib.contextmanager
def dashboard_server(env: dict, log: Path | None = None, start_s: float = 60):
    """`streamlit run dashboard.py` on a free local port with `env` (added to os.environ), yielding its base URL once
    /_stcore/health answers; stopped on exit. Output goes to `log` (else discarded)."""
    port = free_port()
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.address", "127.0.0.1",
                             "--server.port", str(port), "--server.headless", "true"],
                            cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_s
        while True:
            try:
                if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise ServerFailed(f"streamlit did not become healthy{f'; see {log}' if log else ''}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log:
            out.close()


def wait_for(condition, timeout: float = 20.0, what: str = "condition", interval: float = 0.05):
    """Poll `condition` until it is true; fail naming `what` after `timeout` seconds (no test waits forever)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


def choose(page, key: str, option: str, exact: bool = True) -> None:
    """Pick a selectbox option by typing it, as a keyboard user would: the option named `option`, or with
    exact=False the first one containing it (a run's id, say, in "id · model · status")."""
    box = page.locator(f".st-key-{key} input").first
    box.click()
    box.fill(option)
    if exact:
        page.get_by_role("option", name=option, exact=True).click()
    else:
        page.get_by_role("option").filter(has_text=option).first.click()


def pick_all(page, key: str, texts) -> None:
    """Add each option containing one of `texts` to a multiselect, typing it as a keyboard user would."""
    for text in texts:
        box = page.locator(f".st-key-{key} input").first
        box.click()
        box.fill(text)
        page.get_by_role("option").filter(has_text=text).first.click()
        page.keyboard.press("Escape")


def nav(page, title: str, heading: str | None = None) -> None:
    """Follow the sidebar link, which keeps the browser session (a typed URL starts a new one)."""
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title).click()
    page.get_by_role("heading", name=heading or title, exact=True).first.wait_for()
