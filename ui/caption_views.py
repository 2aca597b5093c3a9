"""The Caption page's larger views: the test scenes captioned after each epoch, and a picture captioned word by word
with where each word looked and the top beams."""
import random

import streamlit as st
import torch

from core.caption.attention import word_maps
from core.caption.evaluate import caption_scenes, score_captions, score_template
from core.caption.inputs import SceneMix, render_scene
from core.caption.model import MAX_BEAM, Captioner, beam_search, prepare
from core.caption.scenes import Scene
from core.caption.varied import VariedScene
from core.data.images import to_pil
from core.data.sources import Dataset
from core.training.history import CaptionEpochReport
from ui.figures import beams_figure, caption_comparison_figure
from ui.state import run_model
from ui.widgets import photo_upload_ui


def samples_ui(epochs: list[CaptionEpochReport], fixed: list[Scene], varied: list[VariedScene],
               test_x: torch.Tensor) -> None:
    """The same test scenes captioned after each epoch, fixed and varied: from babble to sentences, and from the
    fixed scenes' few sizes to objects of any size."""
    epoch = epochs[-1].epoch
    if len(epochs) > 1:
        epoch = st.slider("Captions after epoch", 1, epochs[-1].epoch, epochs[-1].epoch, key="cap_epoch_pick")
    chosen = next((e for e in epochs if e.epoch == epoch), epochs[-1])
    line = (f"Test scenes captioned after epoch {chosen.epoch}: exact meaning {chosen.exact:.0%}, "
            f"objects named in place {chosen.recall:.0%}, BLEU-4 {chosen.bleu:.2f}")
    if chosen.varied_exact is not None:
        line += (f"; varied scenes {chosen.varied_exact:.0%} exact ({chosen.varied_large_exact:.0%} where every "
                 f"object is 32 px or larger, objects named {chosen.varied_large_recall:.0%})")
    st.caption(line)
    for kind, scenes in (("scene", fixed), ("varied", varied)):
        shown = [s for s in chosen.samples if kind in s and s[kind] < len(scenes)]
        if kind == "varied" and shown:
            st.caption("Varied test scenes: any size, place and canvas shape, as photos come")
        cols = st.columns(4)
        for i, sample in enumerate(shown):
            picture = to_pil(render_scene(scenes[sample[kind]], test_x), 2 if kind == "scene" else 1)
            cols[i % 4].image(picture, caption=f"“{sample['sentence']}”", output_format="PNG")


SOURCES = ("A test scene", "A varied test scene", "Upload a photo")


def caption_picture_ui(model: Captioner, fixed: list[Scene], varied: list[VariedScene], dataset: Dataset) -> None:
    """A test scene (fixed or varied) or an upload, captioned: the sentence, the picture as the model saw it beside
    each word's attention map, the top beams."""
    src = st.segmented_control("Picture", SOURCES, default=SOURCES[0], key="cap_src")
    picture, references = None, []
    if src == SOURCES[2]:
        picture = photo_upload_ui("cap_upload", "captioned")
    else:
        scenes = fixed if src != SOURCES[1] else varied
        index = st.number_input("Test scene number", 0, len(scenes) - 1, 0, key="cap_scene")
        picture = to_pil(render_scene(scenes[index], dataset.test_x))
        references = scenes[index].captions(list(dataset.classes))
    if picture is None:
        return
    width = st.slider("Beam width", 1, MAX_BEAM, 3, key="cap_beam", help="1 = greedy: the likeliest word each time.")
    beams = beam_search(model, prepare(model, picture), width)
    best = beams[0]
    fitted = model.fit.picture(picture)
    st.subheader(f"“{best.sentence}”" if best.words else "(an empty sentence)")
    if references:
        st.caption("The scene's reference captions: " + " · ".join(f"“{r}”" for r in references))
    maps = word_maps(fitted, best)
    if maps:
        shown = st.select_slider("Where it looked for each word", list(range(len(maps))), 0, key="cap_word",
                                 format_func=lambda i: f"{i + 1}. {maps[i][0]}")
        c1, c2 = st.columns([1, 2])
        w, h = picture.size
        seen = f"{fitted.shape[2]}x{fitted.shape[1]}"
        c1.image(to_pil(fitted, 3), output_format="PNG", caption=f"what the captioner saw: {seen} px" + (
            "" if (w, h) == tuple(fitted.shape[:0:-1]) else f" (your {w}x{h} picture, scaled by its one rule)"))
        c2.image(maps[shown][1], caption=f"attention for “{maps[shown][0]}”", output_format="PNG")
        st.caption("Every word, side by side (red = most attention):")
        cols = st.columns(min(8, len(maps)))
        for i, (word, image) in enumerate(maps):
            cols[i % len(cols)].image(image, caption=word, output_format="PNG")
    st.plotly_chart(beams_figure([b.sentence for b in beams], [b.score for b in beams]), width="stretch",
                    key="cap_beams")


def template_comparison_ui(model: Captioner, classifiers: list, encoder_from: str, fixed: list[Scene],
                           varied: list[VariedScene], dataset: Dataset) -> None:
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
    which = st.segmented_control("Test set", ["fixed scenes", "varied scenes"], default="fixed scenes",
                                 key="cap_compare_set")
    pool = varied if which == "varied scenes" else fixed
    count = st.select_slider("Test scenes", [50, 100, 200, 400, len(pool)], 50, key="cap_compare_n",
                             help="The template classifies hundreds of windows per scene: 50 scenes take about half a "
                                  "minute.")
    if st.button("Compare", key="cap_compare"):
        scenes = pool[:count]
        with st.spinner(f"Captioning {count} scenes both ways…"):
            learned = score_captions(caption_scenes(model, scenes, dataset.test_x), scenes, list(dataset.classes))
            template = score_template(run_model(template_run)[1], list(dataset.classes), scenes, dataset.test_x)
        st.plotly_chart(caption_comparison_figure({"learned captioner": vars(learned), "template describer": vars(template)}),
                        width="stretch", key="cap_compare_chart")
        times = learned.exact / template.exact if template.exact else None
        st.caption(f"Exact meaning on {count} {which.split()[0]} test scenes: learned {learned.exact:.0%}, template "
                   f"{template.exact:.0%}" + (f" ({times:.1f}x)" if times else "") + ".")


def scene_preview_ui(dataset: Dataset, varied_share: float) -> None:
    """Training scenes as the captioner will be taught them, at their own sizes, with one of their captions; "New
    scenes" draws another batch."""
    if st.button("New scenes", key="cap_new_scenes"):
        st.session_state.cap_preview_seed = st.session_state.get("cap_preview_seed", 0) + 1
    rng = random.Random(st.session_state.get("cap_preview_seed", 0))
    mix = SceneMix(dataset.train_y, len(dataset.classes), varied_share)
    scenes = [scene for _ in range(4) for scene in mix.batch(rng, 2)]
    cols = st.columns(4)
    for i, scene in enumerate(scenes):
        picture = to_pil(render_scene(scene, dataset.train_x))
        w, h = picture.size
        cols[i % 4].image(picture, output_format="PNG",
                          caption=f"{w}x{h} · “{rng.choice(scene.training_captions(list(dataset.classes)))}”")
