"""Dataset page: the image grid, the class filter, class counts and the augmentation preview."""
from conftest import open_page, plotly_figures


def grid_captions(at) -> list[str]:
    """Captions of the grid: the images before the one opened large."""
    captions = [img.proto.imgs[0].caption for img in at.get("image")]
    return captions[: next(i for i, c in enumerate(captions) if "shown 10x" in c)]


def test_grid_shows_captioned_images_and_the_class_filter_narrows_it(app_env):
    at = open_page("dataset")
    assert len(set(grid_captions(at))) > 3
    at.multiselect(key="grid_classes").select("cat").select("ship").run()
    captions = grid_captions(at)
    assert captions and set(captions) == {"cat", "ship"} and len(captions) == 12


def test_test_split_and_paging(app_env):
    at = open_page("dataset")
    at.slider(key="grid_rows").set_value(1).run()
    at.slider(key="grid_columns").set_value(4).run()
    assert len(grid_captions(at)) == 4
    at.number_input(key="grid_page").set_value(15).run()
    assert len(grid_captions(at)) == 4 and at.number_input(key="grid_page").label.startswith("Page (of 15")


def test_class_counts_chart(app_env):
    at = open_page("dataset")
    fig = plotly_figures(at)["counts_chart"]
    assert [trace["name"] for trace in fig["data"]] == ["train", "test"]
    assert fig["data"][0]["y"] == [6] * 10 and fig["data"][1]["y"] == [3] * 10


def test_a_server_path_outside_the_allowed_folders_is_refused(app_env):
    at = open_page("dataset")
    at.radio(key="source_kind").set_value("A path on this server").run()
    at.text_input[0].input("/etc").run()
    next(b for b in at.button if b.label == "Use this path").click().run()
    assert any("outside the folders this server allows" in e.value for e in at.error)


def test_the_augmentation_preview_follows_every_setting(app_env):
    at = open_page("dataset")
    before = [img.proto.imgs[0].url for img in at.get("image")]
    for key, value in (("aug_rrc", 0.4), ("aug_jitter", 0.5), ("aug_erase", 1.0), ("aug_noise", 0.1),
                       ("aug_blur", 1.5)):
        at.slider(key=key).set_value(value).run()
        assert not at.exception, key
        after = [img.proto.imgs[0].url for img in at.get("image")]
        assert after != before, f"{key} changed nothing"
        before = after
