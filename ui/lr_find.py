"""The Train page's learning-rate finder view: live curve, Stop, and one click to use the suggestion."""
from __future__ import annotations

import streamlit as st

from core.jobs.lr_find import LRFinderJob
from core.training.status import RunStatus
from ui.figures import lr_find_figure
from ui.train_form import HOW_LR_FIND_WORKS


def _use(lr_key: str, lr: float) -> None:
    st.session_state[lr_key] = lr  # set before the form's widget is drawn again, in a callback
    st.session_state.lr_applied = True


def lr_find_ui(job: LRFinderJob, lr_key: str) -> None:
    """`lr_key`: the session key of the Train form's learning-rate widget that 'Use it' sets."""

    @st.fragment(run_every=1.0 if job.alive else None)
    def live() -> None:
        r = job.snapshot()
        st.subheader("Learning-rate finder")
        if job.alive:
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
        if not job.alive and r.status != RunStatus.FAILED:
            if r.suggested:
                lr = float(f"{r.suggested:.2g}")
                st.button(f"Use {lr:g} as the learning rate", type="primary", key="lr_find_use",
                          on_click=_use, args=(lr_key, lr))
            else:
                st.warning("No suggestion: the loss did not fall over this range. Try more steps or another model.")
        st.caption(HOW_LR_FIND_WORKS)
        if st.session_state.pop("lr_applied", False) or (not job.alive and st.session_state.pop("lr_find_was_running", False)):
            st.rerun()  # the whole page: the form shows the new rate, and the timer stops

    live()
