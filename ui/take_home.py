"""Take the model home: a run's weights (safetensors), its network as ONNX, and the PyTorch script its weights load
into, each one download button."""
from __future__ import annotations

import streamlit as st

from core.runs.export import training_script
from core.runs.onnx_export import export_onnx


def take_home_ui(run_id: str, run) -> None:
    """Download buttons for an opened classifier run (core.runs.folder.Run); the weights are read and the ONNX file
    exported only when their button is pressed, so drawing them costs nothing on a rerun."""
    weights = run.files.weights
    if not weights.exists():
        st.caption("Nothing to download yet: the run saves its weights after its first epoch.")
        return
    c1, c2, c3 = st.columns(3)
    c1.download_button("Download weights (safetensors)", lambda: weights.read_bytes(), f"{run_id}.safetensors",
                       "application/octet-stream", key=f"take_home_weights_{run_id}", on_click="ignore")
    c2.download_button("Download ONNX", lambda: export_onnx(run), f"{run_id}.onnx", "application/octet-stream",
                       key=f"take_home_onnx_{run_id}", on_click="ignore",
                       help="Exported with torch.onnx on first use (a few seconds), then kept with the run.")
    c3.download_button("Download train.py", training_script(run.spec, run.config), "train.py", "text/x-python",
                       key=f"take_home_script_{run_id}", on_click="ignore",
                       help="This run's network and settings as a plain PyTorch script.")
    st.caption(f"`python train.py --weights {run_id}.safetensors` loads the weights into the script's `Net` and tests "
               "them; the ONNX file takes RGB pixels in 0..1 and runs in ONNX Runtime without PyTorch "
               "(docs/take-home.md).")
