"""Compare runs: their curves overlaid, the settings that differ with what each run reached, and a
parallel-coordinates chart over them."""
from __future__ import annotations

import streamlit as st

from core.runs import folder as runs
from core.runs.compare import compare_runs
from core.runs.summary import RunSummary
from ui.figures import compare_figure, settings_figure


def _label(rid: str, summary: RunSummary) -> str:
    acc = "" if summary.test_accuracy is None else f", {summary.test_accuracy:.1%}"
    return f"{rid} ({summary.status}{acc})"


def compare_ui(saved: dict[str, RunSummary]) -> None:
    """`saved`: the runs that can be compared, by id."""
    picked = st.multiselect("Runs", list(saved), default=[], key="compare_runs",
                            format_func=lambda rid: _label(rid, saved[rid]))
    if not picked:
        return
    histories = {rid: runs.read_history(runs.run_path(rid)) for rid in picked}
    c1, c2 = st.columns(2)
    c1.plotly_chart(compare_figure(histories, "loss"), width="stretch", key="cmp_loss")
    c2.plotly_chart(compare_figure(histories, "test_accuracy"), width="stretch", key="cmp_acc")
    settings_comparison_ui(picked, "cmp")


def settings_comparison_ui(picked: list[str], prefix: str) -> None:
    """The settings that differ between these runs with what each reached (a table), and a parallel-coordinates
    chart; nothing for fewer than two runs."""
    if len(picked) < 2:
        return
    try:
        comparison = compare_runs([runs.run_path(rid) for rid in picked])
    except runs.RunError as exc:
        st.warning(f"The settings cannot be compared: {exc}")
        return
    if not comparison.settings:
        st.caption("These runs have the same model and settings: any difference between them is chance (the seed "
                   "is a setting too).")
    st.caption("The settings that differ between these runs, and what each reached (held-out accuracy: on training "
               "images kept out of training, where the run had some).")
    percent = {"test accuracy", "best held-out accuracy"}
    rows = [{k: (None if v is None else round(v * 100, 2)) if k in percent else v for k, v in row.items()}
            for row in comparison.rows()]
    st.dataframe(rows, key=f"{prefix}_table", hide_index=True,
                 column_config={**{k: st.column_config.NumberColumn(k, format="%.1f%%") for k in percent},
                                "training seconds": st.column_config.NumberColumn(format="%.1f")})
    st.plotly_chart(settings_figure(comparison), width="stretch", key=f"{prefix}_parcoords")
