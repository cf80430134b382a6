"""Model Hub models as PAI-EAS prediction services (WIRE.md §D): ``POST /api/predict/{service}``, called with the
official ``eas-prediction`` client unchanged. Parses, authenticates and formats; the work is the core's."""

from medialens.protocols.modelhub.routes import router

__all__ = ["router"]
