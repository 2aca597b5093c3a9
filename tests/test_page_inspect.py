"""Inspect page: prediction with a heat map, feature maps, a sentence with boxes, and the hardest images."""

from conftest import open_page, png_bytes


def test_a_test_image_gets_a_heat_map_feature_maps_and_a_sentence(trained_run):
    at = open_page("inspect")
    assert at.subheader[0].value.startswith("Predicted: ")
    captions = [c for img in at.get("image") for c in [img.proto.imgs[0].caption]]
    assert any("grad-cam for" in c for c in captions)
    assert sum(c.startswith("map ") for c in captions) == 6 + 16  # tutorial net: 6 and 16 maps
    assert any(m.value.startswith("### I see") or "don't recognise" in m.value for m in at.markdown)


def test_asking_about_another_class(trained_run):
    at = open_page("inspect")
    at.selectbox(key="inspect_target").set_value("truck").run()
    assert "where it looked for truck" in at.subheader[0].value


def test_an_uploaded_photo_and_a_bad_upload(trained_run):
    at = open_page("inspect")
    at.segmented_control(key="inspect_src").set_value("Upload a photo").run()
    at.file_uploader(key="inspect_upload").upload("p.png", png_bytes(mode="RGB", size=(300, 200)), "image/png").run()
    assert not at.exception and at.subheader[0].value.startswith("Predicted: ")
    at.file_uploader(key="inspect_upload").upload("bad.png", b"nope", "image/png").run()
    assert "bad.png is not an image this app can read" in at.error[0].value


def test_hardest_training_images(trained_run):
    at = open_page("inspect")
    at.button(key="hardest").click().run()
    captions = [img.proto.imgs[0].caption for img in at.get("image")]
    assert sum("(loss " in c for c in captions) == 20


def test_the_nearest_training_images_are_shown_with_their_label_and_similarity(trained_run):
    at = open_page("inspect")
    assert not any(" · " in img.proto.imgs[0].caption for img in at.get("image"))  # not computed before asked
    at.button(key="neighbours_go").click().run()
    captions = [img.proto.imgs[0].caption for img in at.get("image")]
    assert sum(" · " in c for c in captions) == 8  # "cat · 0.97": the default eight neighbours
    at.slider(key="neighbours_k").set_value(3).run()
    near = [c for img in at.get("image") for c in [img.proto.imgs[0].caption] if " · " in c]
    assert len(near) == 3 and all(-1.0 <= float(c.split(" · ")[1]) <= 1.0 for c in near)


def test_features_kept_in_the_run_folder_show_neighbours_without_asking(trained_run, tiny_dataset):
    from core.insight.neighbours import training_features
    from core.runs.folder import load_model, open_run, run_path

    run = open_run(run_path(trained_run))
    training_features(run, load_model(run), tiny_dataset)
    at = open_page("inspect")
    assert sum(" · " in img.proto.imgs[0].caption for img in at.get("image")) == 8
