"""VOD Location and Time from frames with the Places365 hub model (a tiny one over the loopback mirror, planted
to answer "beach", an outdoor scene): the scene is the Location, the frames' brightness says day or night."""

from __future__ import annotations

import numpy as np

from medialens.analyses import places_times as pt
from medialens.models.installed import pull
from tests.unit.hub.test_places import CATEGORIES, legacy_checkpoint, resnet18_state, serve_places


def test_scene_location_and_day_or_night(mirror, settings, monkeypatch) -> None:
    assert pt.scene_tags([(0.0, np.zeros((64, 64, 3), np.uint8))], settings) == ([], [])  # not installed: nothing
    state = resnet18_state()
    state["fc.weight"] = np.zeros_like(state["fc.weight"])  # planted: "beach" whatever the frame
    state["fc.bias"] = np.array([0.0, 0.0, 8.0, 0.0, 0.0], np.float32)
    cats = ("\n".join(CATEGORIES) + "\n").encode()
    pull(serve_places(mirror, monkeypatch, legacy_checkpoint(state), cats), settings=settings)

    bright = [(t, np.full((120, 160, 3), 200, np.uint8)) for t in (0.0, 1.0, 2.0)]
    dark = [(t, np.full((120, 160, 3), 20, np.uint8)) for t in (0.0, 1.0)]
    location, time = pt.scene_tags(bright, settings)
    assert [(x.tag, x.times) for x in location] == [("beach", [0.0, 1.0, 2.0])]
    assert [x.tag for x in time] == ["daytime"]
    assert [x.tag for x in pt.scene_tags(dark, settings)[1]] == ["night"]
    assert pt._outdoor("beach") and pt._outdoor("apartment_building/outdoor") and not pt._outdoor("kitchen")
