"""Class (teacher only): every student's runs, the queue, the best run per student, two runs side by side, and
cancel or stop any run."""
import streamlit as st

from core.classroom.report import as_csv, class_rows, leaderboard
from core.runs import folder as runs
from core.training.status import RunStatus
from ui.entry import through_entry_ui
from ui.figures import compare_figure, leaderboard_figure
from ui.queue_views import start_line
from ui.state import scheduler, viewer

through_entry_ui()
st.title("Class")
who = viewer()
if who is None or not who.teacher:  # the navigation shows this page to the teacher only; a typed address too
    st.error("This page is the teacher's.")
    st.stop()

rows = class_rows(runs.RUNS_ROOT)
queue = scheduler().queue()
training = scheduler().training()
c1, c2, c3, c4 = st.columns(4)
c1.metric("Students with runs", len({r.student for r in rows}))
c2.metric("Runs", len(rows))
c3.metric("Training now", len(training))
c4.metric("Waiting", len(queue))

st.subheader("The queue")
if queue:
    st.dataframe([{"place": p.place, "student": r.owner, "model": r.name, "epochs": r.epochs,
                   "starts": start_line(p.start_in_s)} for p, r in queue], hide_index=True, width="stretch")
else:
    st.caption("Nobody is waiting: every run asked for is training or done.")

best = leaderboard(rows)
if best:
    st.plotly_chart(leaderboard_figure([r.student for r in best], [r.accuracy for r in best],
                                       [r.run_id for r in best]), width="stretch", key="leaderboard")

st.subheader("Every run")
st.dataframe([{"student": r.student, "run": r.run_id, "kind": r.kind, "model": r.model, "status": r.status,
               "accuracy": None if r.accuracy is None else round(r.accuracy * 100, 2), "epochs": r.epochs,
               "seconds": None if r.train_seconds is None else round(r.train_seconds), "settings": r.settings}
              for r in rows], hide_index=True, width="stretch")
st.download_button("Export as CSV", as_csv(rows), "class-runs.csv", "text/csv", key="class_csv")

st.subheader("Cancel or stop a run")
active = [rid for rid, _ in training] + [p.run_id for p, _ in queue]
if active:
    pick = st.selectbox("Run", active, key="class_cancel_pick",
                        format_func=lambda rid: f"{rid} ({scheduler().owner_of(rid) or 'no owner'})")
    if st.button("Cancel it (waiting) or stop it (training)", key="class_cancel", type="primary"):
        scheduler().cancel(pick)
        st.rerun()
else:
    st.caption("No run is training or waiting.")

st.subheader("Compare two runs")
finished = [r for r in rows if r.kind == "classifier" and r.status not in (RunStatus.QUEUED, RunStatus.CANCELLED,
                                                                           RunStatus.DAMAGED)]
labels = {r.run_id: f"{r.student} · {r.model} · {r.run_id}" for r in finished}
picked = st.multiselect("Runs", list(labels), max_selections=2, key="class_compare", format_func=labels.get)
if picked:
    histories = {labels[rid]: runs.read_history(runs.run_path(rid)) for rid in picked}
    left, right = st.columns(2)
    left.plotly_chart(compare_figure(histories, "loss"), width="stretch", key="class_cmp_loss")
    right.plotly_chart(compare_figure(histories, "test_accuracy"), width="stretch", key="class_cmp_acc")
    by_id = {r.run_id: r for r in finished}
    st.dataframe([{"run": labels[rid], "settings": by_id[rid].settings} for rid in picked], hide_index=True,
                 width="stretch")
