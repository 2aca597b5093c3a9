"""Train: settings, Start/Stop, and live charts of a run that keeps going when the tab closes (its id is in the URL)."""
import math

import streamlit as st

from core import runs
from core.device import DEVICES, DeviceError, describe_device
from core.export import training_script
from core.jobs import BusyError
from core.layers import SpecError, inspect
from core.presets import PRESETS
from core.train import OPTIMIZERS, SCHEDULES, ConfigError, TrainConfig
from ui.figures import accuracy_figure, compare_figure, loss_figure
from ui.state import dataset_ui, first_filters, registry, spec
from ui.widgets import image_grid_ui

st.title("Train")
dataset = dataset_ui()
if dataset is None:
    st.stop()

LRS = sorted({float(f"{10 ** (k / 4):.2g}") for k in range(-24, 5)})  # 1e-6 .. 10, four steps per decade


def settings_ui(base: TrainConfig, key: str) -> tuple[TrainConfig, bool]:
    with st.form(f"settings_{key}", border=True):
        c1, c2, c3, c4 = st.columns(4)
        epochs = c1.number_input("Epochs", 1, 500, base.epochs, key=f"{key}_epochs",
                                 help="One epoch = every training image seen once.")
        batch = c2.number_input("Batch size", 1, 8192, base.batch_size, key=f"{key}_batch",
                                help="Images per step; the gradient is averaged over them.")
        optimizer = c3.selectbox("Optimizer", OPTIMIZERS, OPTIMIZERS.index(base.optimizer), key=f"{key}_opt",
                                 help="SGD follows the gradient; momentum keeps a running direction, like a ball rolling.")
        lr = c4.select_slider("Learning rate", sorted({*LRS, base.lr}), base.lr, key=f"{key}_lr",
                              help="Step size. Too high and the loss explodes; too low and it crawls.")
        d1, d2, d3, d4 = st.columns(4)
        momentum = d1.slider("Momentum", 0.0, 0.99, float(base.momentum), 0.01, key=f"{key}_mom")
        wd = d2.select_slider("Weight decay", sorted({0.0, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, base.weight_decay}),
                              base.weight_decay,
                              key=f"{key}_wd", help="Pulls weights towards zero; helps the net generalise.")
        schedule = d3.selectbox("Schedule", SCHEDULES, SCHEDULES.index(base.schedule), key=f"{key}_sched",
                                help="How the learning rate moves through the run.")
        smoothing = d4.slider("Label smoothing", 0.0, 0.5, float(base.label_smoothing), 0.05, key=f"{key}_ls",
                              help="Cross-entropy against 'mostly right' targets instead of 100% sure ones.")
        e1, e2, e3, e4 = st.columns(4)
        crop = e1.slider("Random crop padding", 0, 8, base.crop_padding, key=f"{key}_crop")
        flip = e2.toggle("Random flips", base.flip, key=f"{key}_flip")
        limit = e3.number_input("Training images (0 = all)", 0, len(dataset.train_x), 0, 1000, key=f"{key}_limit")
        device = e4.selectbox("Device", DEVICES, DEVICES.index(base.device), key=f"{key}_device",
                              help=f"auto = {describe_device('auto')}")
        start = st.form_submit_button("Start training", type="primary")
    config = TrainConfig(**{**base.to_json(), "epochs": int(epochs), "batch_size": int(batch), "optimizer": optimizer,
                            "lr": float(lr), "momentum": float(momentum), "weight_decay": float(wd),
                            "schedule": schedule, "label_smoothing": float(smoothing), "crop_padding": int(crop),
                            "flip": bool(flip), "limit_train": int(limit), "device": device,
                            "nesterov": base.nesterov and optimizer == "sgd" and momentum > 0})
    return config, start


# --- choose what to train ---
choice = st.selectbox("Model", ["the model from the Model page", *PRESETS], key="train_model",
                      help="Presets bring their own training settings; the Model page's model starts from the seed's.")
model_spec = spec() if choice == "the model from the Model page" else PRESETS[choice].spec
base = PRESETS.get(choice, PRESETS["seed"]).config
_, problem = inspect(model_spec)
if problem is not None:
    st.error(f"**This model cannot be trained until it is fixed on the Model page.** {problem}")
    st.page_link("pages/model.py", label="Fix it on the Model page", icon=":material/stacks:")
else:
    st.caption(f"Training **{model_spec.name}**: {model_spec}")
    config, start = settings_ui(base, choice)
    code_col, teach_col = st.columns(2)
    with code_col.expander("Show the code: this run as a plain PyTorch script"):
        script = training_script(model_spec, config)
        st.download_button("Download train.py", script, "train.py", "text/x-python", key="dl_script")
        st.code(script, language="python")
    with teach_col.expander("What happens while it trains"):
        st.markdown(
            "- **Batches and epochs**: the images go through in batches; one pass over all of them is an epoch.\n"
            "- **Cross-entropy loss**: softmax turns the 10 scores into probabilities; the loss is −log of the "
            "probability given to the right class (0 when sure and right, large when sure and wrong).\n"
            "- **Backward pass**: `loss.backward()` computes how the loss changes with every weight.\n"
            "- **SGD with momentum**: each weight steps against its gradient, scaled by the learning rate; momentum "
            "keeps a running direction so steps don't zig-zag.\n"
            "- **Evaluation**: after each epoch the test images are scored in eval mode under `no_grad`.\n"
            "- **Checkpoints**: the weights are saved after every epoch (safetensors), so Stop or a crash keeps them."
        )
    if start:
        try:
            job = registry().start(model_spec, dataset, config.check())
            st.session_state.job_id = job.id
            st.query_params["run"] = job.id
        except (ConfigError, SpecError, DeviceError, BusyError) as exc:
            st.error(f"**Training did not start.** {exc}")

# --- the run being watched: from this session, or from the URL after a refresh ---
run_id = st.query_params.get("run") or st.session_state.get("job_id")
if run_id:  # remembered both ways: a reloaded tab finds it in the URL, a page switch in the session
    st.session_state.job_id = run_id
    st.query_params["run"] = run_id
job = registry().get(run_id) if run_id else None
folder = None
if run_id and job is None:
    try:
        folder = runs.run_path(run_id)
        if not (folder / "summary.json").exists():
            st.warning(f"No run called `{run_id}` was found.")
            folder = None
    except runs.RunError as exc:
        st.warning(str(exc))


@st.fragment(run_every=1.0 if job is not None and job.alive else None)
def live_ui() -> None:
    if job is not None:
        snap = job.snapshot()
        history, status, reason, steps = snap.history(), snap.status, snap.reason, snap.steps
        total, lr = snap.total_steps, snap.lr
    else:
        history, summary = runs.read_history(folder), runs.read_summary(folder)
        status, reason, total = summary.get("status"), summary.get("reason", ""), 0
        steps, lr = history.steps, history.steps[-1]["lr"] if history.steps else 0.0
    st.subheader(f"Run `{run_id}` · {status}")
    if job is not None and not snap.done:
        last = steps[-1] if steps else None
        eta = f"{int(last.eta // 60)}:{int(last.eta % 60):02d}" if last else "…"
        text = (f"epoch {last.epoch} · step {last.step:,}/{total:,} · {last.images_per_second:,.0f} images/s · "
                f"ETA {eta} · loss {last.loss:.3f} · lr {lr:.3g}") if last else "starting…"
        st.progress(snap.progress, text=text)
        c1, c2, c3 = st.columns([2, 1, 1])
        new_lr = c1.select_slider("Change the learning rate now", LRS,
                                  min(LRS, key=lambda v: abs(math.log(v / max(lr, 1e-6)))),
                                  key="live_lr")
        if c2.button("Set learning rate", key="set_lr"):
            job.set_lr(new_lr)
        if c3.button("Stop", type="primary", key="stop"):
            job.stop()
            job.join(2.0)
    elif status == "finished":
        acc = history.epochs[-1]["test_accuracy"] if history.epochs else None
        st.success(f"Finished: test accuracy {acc:.1%}." if acc is not None else "Finished.")
        st.page_link("pages/evaluate.py", label="Evaluate this run class by class", icon=":material/target:")
    elif status in ("diverged", "failed", "interrupted"):
        st.error(f"**The run {status}.** {reason}")
    elif status == "stopped":
        st.info("Stopped. What it learned so far is saved; the Evaluate page can use it.")
    if history.steps:
        st.plotly_chart(loss_figure(history.steps, history.events), width="stretch", key="loss_chart")
    tiles = first_filters(run_id)
    if tiles is not None:
        st.caption(f"First-layer filters after epoch {len(history.epochs)} (each stretched to full contrast)")
        image_grid_ui(tiles[:32], [""] * min(32, len(tiles)), 16, scale=max(1, 48 // tiles.shape[-1]))
    if history.epochs:
        per_class = st.toggle("Accuracy per class", key="per_class_toggle",
                              help="Shows which classes the network learns late.")
        st.plotly_chart(accuracy_figure(history.epochs, list(dataset.classes), per_class), width="stretch",
                        key="acc_chart")
    if job is not None and snap.done and st.session_state.get("was_running") == job.id:
        st.session_state.was_running = None
        st.rerun()  # full rerun: stops the timer and refreshes the run list
    if job is not None and not snap.done:
        st.session_state.was_running = job.id


if job is not None or folder is not None:
    live_ui()

st.subheader("Compare runs")
saved = [r for r in runs.list_runs() if r.get("status") != "damaged"]
picked = st.multiselect("Runs", [r["id"] for r in saved], default=[], key="compare_runs",
                        format_func=lambda rid: next(f"{rid} ({r.get('status')}, "
                                                     f"{'' if r.get('test_accuracy') is None else format(r['test_accuracy'], '.1%')})"
                                                     for r in saved if r["id"] == rid))
if picked:
    histories = {rid: vars(runs.read_history(runs.run_path(rid))) for rid in picked}
    c1, c2 = st.columns(2)
    c1.plotly_chart(compare_figure(histories, "loss"), width="stretch", key="cmp_loss")
    c2.plotly_chart(compare_figure(histories, "test_accuracy"), width="stretch", key="cmp_acc")
