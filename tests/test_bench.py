"""`python -m bench --quick` runs end to end on generated data and reports every section in its JSON line."""
import json

from bench.__main__ import main


def test_quick_benchmark_reports_every_section(data_root, tmp_path, capsys):
    from conftest import write_tree

    tree = write_tree(tmp_path / "tree", per_class=(40, 10))
    report = main(["--quick", "--data", str(tree)])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == json.loads(json.dumps(report))
    same = report["same_model"]
    assert same["tutorial_images_per_second"] > 0 and same["engine_images_per_second"] > 0
    assert same["ratio"] == same["engine_images_per_second"] / same["tutorial_images_per_second"]
    assert 0 <= same["tutorial_test_accuracy"] <= 1
    assert {row["name"] for row in report["time_to_accuracy"]} == {"seed (engine defaults, batch 128)", "fast"}
    assert report["dashboard_overhead"]["ratio"] > 0 and report["data_timing"]["cached_load_seconds"] >= 0
    assert report["machine"]["cores"] >= 1 and report["peak_memory_mb"] > 0
