"""CIFAR-10 Studio: the entry point only declares the pages and runs the chosen one."""
import streamlit as st

st.set_page_config(page_title="CIFAR-10 Studio", page_icon="🖼️", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/dataset.py", title="Dataset", icon="🖼️"),
    st.Page("pages/model.py", title="Model", icon="🧱"),
    st.Page("pages/train.py", title="Train", icon="📉"),
    st.Page("pages/evaluate.py", title="Evaluate", icon="🎯"),
]

st.navigation(PAGES).run()
