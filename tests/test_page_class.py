"""Class mode in the dashboard, tried the way a student who wants another's work would: sign-in, a run id by URL, by
guessing, by the compare picker and the run pickers; and the teacher's Class page with everyone's runs."""
from pathlib import Path

import pytest
from conftest import copy_run, plotly_figures
from streamlit.testing.v1 import AppTest
from test_page_train import poll_until, start

from core.classroom.accounts import AccountBook
from core.classroom.report import as_csv, class_rows
from core.runs import folder as runs
from core.runs.layout import RunFolder

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")
PASSWORDS = {"alice": "alice's password", "bob": "bob's password", "teach": "the teacher's"}


@pytest.fixture
def class_env(app_env, tmp_path, monkeypatch):
    accounts = tmp_path / "accounts.json"
    monkeypatch.setattr("core.classroom.accounts.ACCOUNTS_FILE", accounts)
    monkeypatch.setenv("CIFAR10_EXECUTOR", "thread")  # the Ray path has its own tests (test_classroom_ray.py)
    book = AccountBook(accounts)
    for name, password in PASSWORDS.items():
        book.add(name, password, teacher=name == "teach")
    return app_env


def signed_in(name: str, password: str | None = None) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.run()
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(PASSWORDS[name] if password is None else password)
    at.button[0].click().run()  # the form's "Sign in"
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_a_class_server_shows_only_the_sign_in_page_until_someone_signs_in(class_env):
    at = AppTest.from_file(DASHBOARD, default_timeout=60).run()
    assert at.title[0].value == "CIFAR-10 Studio" and at.text_input(key="sign_in_password")
    wrong = signed_in("alice", "not her password")
    assert [e.value for e in wrong.error] == ["that name and password do not match an account"]
    assert "identity" not in wrong.session_state or wrong.session_state.identity is None
    again = signed_in("alice")  # the same name must now wait: failed sign-ins are slowed down
    assert "try again in" in again.error[0].value


def test_a_student_signs_in_trains_and_owns_the_run(class_env):
    at = signed_in("alice")
    assert any("Signed in as **alice**" in c.value for c in at.sidebar.caption)
    at.switch_page("pages/train.py").run()
    run_id = start(at, epochs=1)
    poll_until(at, lambda a: any("Finished" in s.value for s in a.success))
    assert RunFolder(runs.run_path(run_id)).owner == "alice"


def test_another_student_cannot_reach_the_run_by_url_guess_or_picker(class_env, trained_run):
    folder = runs.run_path(trained_run)
    (folder / "request.json").write_text('{"owner": "alice", "kind": "classifier"}')
    as_bob = signed_in("bob")
    as_bob.switch_page("pages/train.py")
    as_bob.query_params["run"] = trained_run
    as_bob.run()
    guessed = signed_in("bob")
    guessed.switch_page("pages/train.py")
    guessed.query_params["run"] = trained_run.replace("abc123", "abc124")
    guessed.run()
    refused = [w.value for w in as_bob.warning]
    assert refused == [f"No classifier run called `{trained_run}` was found."]
    assert [w.value.replace("abc124", "abc123") for w in guessed.warning] == refused  # the same words: nothing learned
    assert trained_run not in as_bob.multiselect(key="compare_runs").options
    as_bob.switch_page("pages/evaluate.py").run()
    assert trained_run not in as_bob.selectbox(key="eval_run").options  # only the starters, everyone's
    as_alice = signed_in("alice")
    as_alice.switch_page("pages/evaluate.py").run()
    assert as_alice.selectbox(key="eval_run").value == trained_run


def test_the_teacher_sees_every_run_on_the_class_page_and_students_have_no_such_page(class_env, trained_run,
                                                                                        tutorial_run_once):
    RunFolder(runs.run_path(trained_run)).request.write_text('{"owner": "alice", "kind": "classifier"}')
    other = copy_run(tutorial_run_once, runs.run_path("20260102-000000-tutorial-def456"), str(class_env))
    RunFolder(other).request.write_text('{"owner": "bob", "kind": "classifier"}')
    teacher = signed_in("teach")
    teacher.switch_page("pages/class.py").run()
    assert not teacher.exception, [e.message for e in teacher.exception]
    table = teacher.dataframe[0].value  # the queue is empty (a caption): the first table is every run
    assert sorted(table["student"]) == ["alice", "bob"]
    assert set(table["run"]) == {trained_run, other.name}
    teacher.multiselect(key="class_compare").set_value([trained_run, other.name]).run()
    curves = plotly_figures(teacher)["class_cmp_acc"]["data"]
    assert sorted(trace["name"].split(" · ")[0] for trace in curves) == ["alice", "bob"]
    assert [len(trace["x"]) for trace in curves] == [2, 2]  # both runs' two epochs
    csv = as_csv(class_rows(runs.RUNS_ROOT))
    assert "alice" in csv and "bob" in csv and csv.splitlines()[0].startswith("run_id,student,")
    student = signed_in("alice")
    with pytest.raises(Exception):
        student.switch_page("pages/class.py").run()  # not among her pages at all
