"""CIFAR-10 Studio: the entry point only declares the pages and runs the chosen one."""
import streamlit as st

from ui.entry import navigate

st.set_page_config(page_title="CIFAR-10 Studio", page_icon=":material/image:", layout="wide")
# 32x32 images are enlarged; keep their pixels crisp instead of blurred
st.html("<style>img { image-rendering: pixelated; }</style>")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/dataset.py", title="Dataset", icon=":material/photo_library:"),
    st.Page("pages/model.py", title="Model", icon=":material/stacks:"),
    st.Page("pages/train.py", title="Train", icon=":material/trending_down:"),
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/target:"),
    st.Page("pages/inspect.py", title="Inspect", icon=":material/visibility:"),
    st.Page("pages/caption.py", title="Caption", icon=":material/chat:"),
]

# Class mode only, and only for the teacher (ui.entry.navigate decides)
TEACHER_PAGES = [st.Page("pages/class.py", title="Class", icon=":material/school:")]

navigate(PAGES, TEACHER_PAGES)
