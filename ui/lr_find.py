"""The Train page's learning-rate finder view: live curve, Stop, and one click to use the suggestion."""
from __future__ import annotations

import streamlit as st

from core.jobs.lr_find import LRFinderJob
from core.training.status import RunStatus
from ui.figures import lr_find_figure
from ui.queue_views import queued_ui
from ui.train_form import HOW_LR_FIND_WORKS


def _use(lr_key: str, lr: float) -> None:
    st.session_state[lr_key] = lr  # set before the form's widget is drawn again, in a callback
    st.session_state.lr_applied = True


def lr_find_ui(job: LRFinderJob, lr_key: str, task_id: str | None = None) -> None:
    """`lr_key`: the session key of the Train form's learning-rate widget that 'Use it' sets; `task_id`: its place in
    the server's queue, where it waits its turn like a run."""

    @st.fragment(run_every=1.0 if job.alive or job.waiting else None)
    def live() -> None:
        r = job.snapshot()
        st.subheader("Learning-rate finder")
        if job.waiting and task_id:
            queued_ui(task_id, "lr", on_cancel=lambda: st.session_state.pop("lr_job", None))
            st.session_state.lr_find_was_running = True
        elif job.alive:
            done = len(r.lrs) / job.settings.steps
            st.progress(min(1.0, done), text=f"step {len(r.lrs)}/{job.settings.steps}"
                        + (f" · lr {r.lrs[-1]:.2g} · loss {r.losses[-1]:.3f}" if r.lrs else " · starting…"))
            if st.button("Stop the finder", key="lr_find_stop"):
                job.stop()
            st.session_state.lr_find_was_running = True
        elif r.status == RunStatus.FAILED:
            st.error(f"**The learning-rate finder failed.** {r.reason}")
        if r.lrs:
            st.plotly_chart(lr_find_figure(r.lrs, r.losses, r.raw_losses, None if job.alive else r.suggested),
                            width="stretch", key="lr_find_chart")
        if not job.alive and not job.waiting and r.status != RunStatus.FAILED:
            if r.suggested:
                lr = float(f"{r.suggested:.2g}")
                st.button(f"Use {lr:g} as the learning rate", type="primary", key="lr_find_use",
                          on_click=_use, args=(lr_key, lr))
            else:
                st.warning("No suggestion: the loss did not fall over this range. Try more steps or another model.")
        st.caption(HOW_LR_FIND_WORKS)
        ended = not job.alive and not job.waiting
        if st.session_state.pop("lr_applied", False) or (ended and st.session_state.pop("lr_find_was_running", False)):
            st.rerun()  # the whole page: the form shows the new rate, and the timer stops

    live()
