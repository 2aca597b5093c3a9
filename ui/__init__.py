"""Dashboard helpers shared by the pages: plotly figure builders (pure) and Streamlit state (cached resources)."""
