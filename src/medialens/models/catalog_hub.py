"""Hub-tier models: real weights on Hugging Face (or a mirror through HF_ENDPOINT), pulled by `medialens models pull`.

Until pulled they are "not deployed": protocols answer "model not found" and `medialens models list` says how to
get them.
"""

from __future__ import annotations

from medialens.models.spec import ModelSpec

HUB_SPECS: tuple[ModelSpec, ...] = ()
