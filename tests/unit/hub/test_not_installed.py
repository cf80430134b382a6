"""Hub models are "not deployed" until pulled: not installed, with a pull hint, and no network touched."""

from __future__ import annotations

import pytest

from medialens.models.errors import ModelNotInstalledError
from medialens.models.installed import installed, list_models, model_files
from medialens.models.pipelines import pipeline_class
from medialens.models.registry import bundle_specs
from medialens.models.sources import HuggingFaceRepo
from tests.unit.hub.conftest import hf_sources

HF_NAMES = {
    "clip-vit-b32", "mclip-xlm-roberta-large-vit-b32", "chinese-clip-vit-b16", "wd14-convnextv2-v2",
    "wd14-convnext-v2", "wd14-vit-v2", "wd14-swinv2-v2", "yolov8n", "yolov8n-seg",
}  # fmt: skip
URL_NAMES = {"places365-resnet18"}  # CSAIL's own release, converted at pull time (tests/unit/hub/test_places.py)
HUB_NAMES = HF_NAMES | URL_NAMES


def test_hub_specs_and_pipelines() -> None:
    specs = {s.name: s for s in bundle_specs("hub")}
    assert set(specs) >= HUB_NAMES
    for name in HUB_NAMES:
        spec = specs[name]
        assert spec.runtime == "onnx"
        assert pipeline_class(name).model_name == name
    for name in HF_NAMES:
        spec = specs[name]
        for source in spec.sources:
            for repo in hf_sources(source):
                assert isinstance(repo, HuggingFaceRepo) and "/" in repo.repo_id and repo.revision
        # every source delivers every listed file
        for source in spec.sources:
            delivered = {rel for repo in hf_sources(source) for rel in repo.files.values()}
            assert set(spec.files) <= delivered, (name, source)


def test_unpulled_hub_models_report_a_pull_hint(mirror, settings) -> None:
    rows = {row.name: row for row in list_models(settings)}
    for name in HUB_NAMES:
        assert not installed(name, settings)
        with pytest.raises(ModelNotInstalledError) as info:
            model_files(name, settings)
        assert f"medialens models pull {name}" in str(info.value)
        row = rows[name]
        assert (row.installed, row.bundle, row.hint, row.path) == (False, "hub", f"medialens models pull {name}", None)
        assert row.source.startswith("hf:" if name in HF_NAMES else "url:")
    assert mirror.requests == []
