"""Run statuses are one type, written as their plain names, read back from old run folders unchanged."""
import json

from core.runs.folder import read_summary
from core.training.status import RunStatus, status_of


def test_a_status_is_its_plain_name_in_json_and_in_comparisons():
    assert json.dumps({"status": RunStatus.FINISHED}) == '{"status": "finished"}'
    assert RunStatus.STOPPED == "stopped" and f"{RunStatus.DIVERGED}" == "diverged"


def test_every_status_reads_back_and_unknown_text_is_a_damaged_run():
    for status in RunStatus:
        assert status_of(status.value) is status
    assert status_of("exploded") is RunStatus.DAMAGED and status_of(None) is RunStatus.DAMAGED
    assert {s for s in RunStatus if s.active} == {RunStatus.STARTING, RunStatus.RUNNING}
    assert {s for s in RunStatus if s.went_wrong} == {RunStatus.DIVERGED, RunStatus.FAILED, RunStatus.INTERRUPTED}


def test_a_summary_written_before_the_type_reads_back_typed(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"status": "finished", "updated": 0}))
    assert read_summary(tmp_path).status is RunStatus.FINISHED
