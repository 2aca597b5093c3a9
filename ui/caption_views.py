"""The Caption page's larger views: the test scenes captioned after each epoch, and a picture captioned word by word
with where each word looked and the top beams."""
import streamlit as st
import torch

from core.caption.attention import word_maps
from core.caption.evaluate import caption_scenes, score_captions, score_template
from core.caption.model import MAX_BEAM, Captioner, beam_search, fit_picture, prepare
from core.caption.scenes import Scene, render
from core.data.images import to_pil
from core.data.sources import Dataset
from core.training.history import CaptionEpochReport
from ui.figures import beams_figure, caption_comparison_figure
from ui.state import run_model
from ui.widgets import photo_upload_ui


def samples_ui(epochs: list[CaptionEpochReport], fixed: list[Scene], test_x: torch.Tensor) -> None:
    """The same test scenes captioned after each epoch: from babble to sentences."""
    epoch = epochs[-1].epoch
    if len(epochs) > 1:
        epoch = st.slider("Captions after epoch", 1, epochs[-1].epoch, epochs[-1].epoch, key="cap_epoch_pick")
    chosen = next((e for e in epochs if e.epoch == epoch), epochs[-1])
    st.caption(f"Test scenes captioned after epoch {chosen.epoch}: exact meaning {chosen.exact:.0%}, "
               f"objects named in place {chosen.recall:.0%}, BLEU-4 {chosen.bleu:.2f}")
    cols = st.columns(4)
    for i, sample in enumerate(chosen.samples):
        scene = fixed[sample["scene"]]
        cols[i % 4].image(to_pil(render(scene, test_x), 2), caption=f"“{sample['sentence']}”",
                          output_format="PNG")


def caption_picture_ui(model: Captioner, fixed: list[Scene], dataset: Dataset) -> None:
    """A test scene or an upload, captioned: the sentence, each word's attention map, the top beams."""
    src = st.segmented_control("Picture", ["A test scene", "Upload a photo"], default="A test scene", key="cap_src")
    picture, references = None, []
    if src == "Upload a photo":
        picture = photo_upload_ui("cap_upload", "captioned")
    else:
        index = st.number_input("Test scene number", 0, len(fixed) - 1, 0, key="cap_scene")
        picture = to_pil(render(fixed[index], dataset.test_x))
        references = fixed[index].captions(list(dataset.classes))
    if picture is None:
        return
    width = st.slider("Beam width", 1, MAX_BEAM, 3, key="cap_beam", help="1 = greedy: the likeliest word each time.")
    beams = beam_search(model, prepare(picture), width)
    best = beams[0]
    fitted = fit_picture(picture)
    st.subheader(f"“{best.sentence}”" if best.words else "(an empty sentence)")
    if references:
        st.caption("The scene's reference captions: " + " · ".join(f"“{r}”" for r in references))
    maps = word_maps(fitted, best)
    if maps:
        shown = st.select_slider("Where it looked for each word", list(range(len(maps))), 0, key="cap_word",
                                 format_func=lambda i: f"{i + 1}. {maps[i][0]}")
        c1, c2 = st.columns([1, 2])
        c1.image(to_pil(fitted, 3), caption="what the captioner saw", output_format="PNG")
        c2.image(maps[shown][1], caption=f"attention for “{maps[shown][0]}”", output_format="PNG")
        st.caption("Every word, side by side (red = most attention):")
        cols = st.columns(min(8, len(maps)))
        for i, (word, image) in enumerate(maps):
            cols[i % len(cols)].image(image, caption=word, output_format="PNG")
    st.plotly_chart(beams_figure([b.sentence for b in beams], [b.score for b in beams]), width="stretch",
                    key="cap_beams")


def template_comparison_ui(model: Captioner, classifiers: list, encoder_from: str, fixed: list[Scene],
                           dataset: Dataset) -> None:
    """The learned captioner and the template describer on the same test scenes, scored side by side."""
    st.header("Learned captioner against the template describer")
    st.caption("The template describer classifies windows of the picture with a classifier and writes “I see …”. Both "
               "caption the same test scenes; a sentence's meaning is every object with its class and place.")
    if not classifiers:
        st.info("The template needs a trained classifier run: train one on the Train page.")
        return
    default = next((i for i, r in enumerate(classifiers) if r.id == encoder_from), 0)
    template_run = st.selectbox("Classifier for the template", [r.id for r in classifiers], default,
                                key="cap_template_run")
    count = st.select_slider("Test scenes", [50, 100, 200, 400, len(fixed)], 100, key="cap_compare_n",
                             help="The template classifies about 30 windows per scene: 100 scenes take a few seconds.")
    if st.button("Compare", key="cap_compare"):
        scenes = fixed[:count]
        with st.spinner(f"Captioning {count} scenes both ways…"):
            learned = score_captions(caption_scenes(model, scenes, dataset.test_x), scenes, list(dataset.classes))
            template = score_template(run_model(template_run)[1], list(dataset.classes), scenes, dataset.test_x)
        st.plotly_chart(caption_comparison_figure({"learned captioner": vars(learned), "template describer": vars(template)}),
                        width="stretch", key="cap_compare_chart")
