"""Name -> ModelSpec. Analyses ask for a model by name; the catalog says where its weights come from."""

from __future__ import annotations

from medialens.models.catalog import SPECS
from medialens.models.catalog_hub import HUB_SPECS
from medialens.models.catalog_modelhub import MODELHUB_SPECS
from medialens.models.errors import UnknownModelError
from medialens.models.spec import ModelSpec

REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in (*SPECS, *HUB_SPECS, *MODELHUB_SPECS)}


def get_spec(name: str) -> ModelSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownModelError(name) from None


def all_specs() -> list[ModelSpec]:
    return list(REGISTRY.values())


def bundle_specs(bundle: str) -> list[ModelSpec]:
    """The specs `medialens models pull --bundle <bundle>` installs."""
    return [spec for spec in REGISTRY.values() if spec.bundle == bundle]
