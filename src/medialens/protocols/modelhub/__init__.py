"""Model Hub models as PAI-EAS prediction services (WIRE.md §D): ``POST /api/predict/{service}``, its queues
(``{service}`` and ``{service}/sink``, §D.2) and the clips the video services write, called with the official
``eas-prediction`` client unchanged. Parses, authenticates and formats; the work is the core's."""

from fastapi import APIRouter

from medialens.protocols.modelhub.files import files_router
from medialens.protocols.modelhub.queue_routes import router as queue_router
from medialens.protocols.modelhub.routes import router as predict_router

router = APIRouter()
router.include_router(predict_router)  # first: POST /api/predict/{name} (a queue put too, by its header)
router.include_router(queue_router)  # the queue paths: every other method and path under /api/predict
router.include_router(files_router)

__all__ = ["router"]
