"""Model: start from a preset, add / remove / reorder / edit layers, see every shape, export JSON and PyTorch code."""
import json
import zlib

import streamlit as st

from core.models.codec import (
    spec_from_json,
    spec_from_token,
    spec_to_json,
    spec_to_token,
)
from core.models.layers import LAYER_KINDS, SpecError
from core.models.spec import ModelSpec, layer_report
from core.runs.export import to_python
from core.training.presets import PRESETS
from ui.diagram import model_dot
from ui.entry import through_entry_ui
from ui.layer_forms import EXPLAIN, layer_form_ui
from ui.state import set_spec, spec

through_entry_ui()
st.title("Model")
if "model" in st.query_params and not st.session_state.get("model_link_read"):
    st.session_state.model_link_read = True  # a shared link opens its model once; edits then take over
    try:
        set_spec(spec_from_token(st.query_params["model"]))
    except SpecError as exc:
        st.error(f"**The model in this link cannot be opened.** {exc}")
current = spec()
st.query_params["model"] = spec_to_token(current)  # the URL always carries the model: copy it to share it

top1, top2 = st.columns([2, 1])
preset = top1.selectbox("Start from", ["(keep current)", *PRESETS, "empty stack"], key="preset_pick",
                        help="seed = the tutorial's Classifier; tutorial = PyTorch's Net; fast/accurate/gpu-speedrun "
                             "are tuned for speed. Loading replaces the current stack.")
if top2.button("Load", disabled=preset == "(keep current)", key="preset_load"):
    set_spec(ModelSpec((), name="custom") if preset == "empty stack" else PRESETS[preset].spec)
    st.rerun()
if preset in PRESETS:
    st.caption(PRESETS[preset].description)

infos, problem = layer_report(current)
rows = []
for i, layer in enumerate(current.layers, start=1):
    info = infos[i - 1] if i <= len(infos) else None
    rows.append({"#": i, "layer": layer.label(),
                 "output shape": "x".join(map(str, info.output_shape)) if info else "—",
                 "parameters": info.parameters if info else None, "MACs": info.macs if info else None,
                 "problem": problem.args[0] if problem is not None and problem.layer == i else ""})
st.subheader(f"{current.name}: {len(current.layers)} layers")
if problem is not None:
    st.error(f"**This model cannot be trained yet.** {problem}")
else:
    total_p, total_m = sum(i.parameters for i in infos), sum(i.macs for i in infos)
    m1, m2, m3 = st.columns(3)
    m1.metric("Parameters", f"{total_p:,}")
    m2.metric("Multiply-accumulates per image", f"{total_m:,}")
    m3.metric("Output", "10 class scores")
st.dataframe(rows, hide_index=True, width="stretch", key="layer_table",
             column_config={"parameters": st.column_config.NumberColumn(format="localized"),
                            "MACs": st.column_config.NumberColumn(format="localized")})

edit_col, add_col = st.columns(2)
with edit_col:
    st.markdown("**Change a layer**")
    if current.layers:
        pick = st.selectbox("Layer", range(len(current.layers)), key="edit_pick",
                            format_func=lambda k: f"{k + 1}. {current.layers[k].label()}")
        layers = list(current.layers)
        b1, b2, b3 = st.columns(3)
        if b1.button("Move up", disabled=pick == 0, key="move_up"):
            layers[pick - 1], layers[pick] = layers[pick], layers[pick - 1]
        if b2.button("Move down", disabled=pick == len(layers) - 1, key="move_down"):
            layers[pick + 1], layers[pick] = layers[pick], layers[pick + 1]
        if b3.button("Remove", key="remove_layer"):
            layers.pop(pick)
        # the layer itself is part of the widgets' key: after a preset loads or a layer moves, the form shows
        # the layer now at this position, not what was typed for the one before
        form_key = f"edit{pick}-{zlib.crc32(repr(current.layers[pick]).encode()):08x}"
        edited = layer_form_ui(type(current.layers[pick]), form_key, current.layers[pick])
        if st.button("Apply changes", key="apply_edit"):
            layers[pick] = edited
        if layers != list(current.layers):
            set_spec(ModelSpec(tuple(layers), name="custom"))
            st.rerun()
with add_col:
    st.markdown("**Add a layer**")
    kind = st.selectbox("Kind", list(LAYER_KINDS), key="add_kind", help="\n\n".join(f"**{k}**: {v}" for k, v in EXPLAIN.items()))
    new = layer_form_ui(LAYER_KINDS[kind], "add")
    position = st.number_input("Insert at position", 1, len(current.layers) + 1, len(current.layers) + 1, key="add_pos")
    if st.button("Add layer", type="primary", key="add_layer"):
        layers = list(current.layers)
        layers.insert(position - 1, new)
        set_spec(ModelSpec(tuple(layers), name="custom"))
        st.rerun()

st.subheader("Diagram")
st.graphviz_chart(model_dot(current, infos, problem), width="stretch")

st.subheader("Save, load, export")
s1, s2, s3 = st.columns(3)
s1.download_button("Download spec (JSON)", json.dumps(spec_to_json(current), indent=2), "model.json",
                   "application/json", key="dl_spec")
spec_file = s2.file_uploader("Load a spec (JSON)", type=["json"], key="spec_upload")
if spec_file is not None and s2.button("Use this spec", key="use_spec"):
    try:
        set_spec(spec_from_json(spec_file.getvalue()[:1_000_000]))
        st.rerun()
    except SpecError as exc:
        st.error(f"**That spec cannot be used.** {exc}")
if problem is None:
    code = to_python(current)
    s3.download_button("Download PyTorch code", code, "net.py", "text/x-python", key="dl_code")
    st.caption("Share this model: copy the page's address; it carries the whole layer stack.")
    with st.expander("The equivalent PyTorch code"):
        st.code(code, language="python")
