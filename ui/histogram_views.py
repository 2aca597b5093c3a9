"""The Train page's weight and gradient histograms: a layer, an epoch slider, and the two distributions."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.runs import histograms
from ui.figures import histograms_figure


def histograms_ui(folder: Path) -> None:
    """Nothing for a run recorded before histograms existed; else its layers' weights and gradients per epoch."""
    recorded = histograms.read(folder)
    if not recorded:
        return
    with st.expander("Weights and gradients, layer by layer"):
        st.caption("How each layer's weights spread out as it learns, and the gradients of the epoch's last step "
                   "(large ones: that layer was still changing fast; tiny ones: it had settled, or gets no signal).")
        epochs = sorted(recorded)
        c1, c2 = st.columns([2, 1])
        layers = list(dict.fromkeys(h.layer for h in recorded[epochs[-1]]))
        layer = c2.selectbox("Layer", layers, key="hist_layer")
        epoch = c1.select_slider("Epoch", epochs, epochs[-1], key="hist_epoch") if len(epochs) > 1 else epochs[0]
        found = {h.kind: h for h in recorded[epoch] if h.layer == layer}
        if "weight" in found:
            st.plotly_chart(histograms_figure(found["weight"], found.get("gradient")), width="stretch",
                            key="hist_chart")
