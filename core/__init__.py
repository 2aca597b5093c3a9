"""CIFAR-10 Studio's engine: data, models, training, evaluation and run storage. Never imports Streamlit."""
