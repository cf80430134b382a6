"""Pull-time conversions of raw weights to ONNX, without PyTorch or TensorFlow.

Each converter takes the staging directory of a pull (see ``ModelSpec.convert``), reads the raw files the
sources delivered and writes the ONNX model that the pipelines load with ONNX Runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

#: File names the conversions write (pipelines load these; importing them here does not import onnx).
MOBILENET_V2_ONNX = "mobilenet_v2.onnx"
MOBILENET_V2_FINGERPRINT_INT8 = "mobilenet_v2_fingerprint_int8.onnx"  # its last feature map, int8 (fingerprints)
FINGERPRINT_FEATURE_MAP = "feature_map"  # that network's output: MobileNetV2's last map, before average pooling
FINGERPRINT_SIDE = 224  # that network's fixed input side: the fingerprint squeezes every view to it
PLACES365_CHECKPOINT = "resnet18_places365.pth.tar"
PLACES365_ONNX = "resnet18_places365.onnx"
VIDEOMAE_WEIGHTS = "videomae.weights"


def convert_mobilenet_v2(stage: Path) -> None:
    """``ModelSpec.convert`` for ``mobilenet-v2`` (imports onnx only when a pull runs it): the float classifier,
    then the fingerprint's int8 feature-map network quantized from it."""
    from medialens.models.convert import fingerprint_int8, mobilenet

    mobilenet.convert(stage)
    fingerprint_int8.convert(stage)


def convert_places365_resnet18(stage: Path) -> None:
    """``ModelSpec.convert`` for ``places365-resnet18``: CSAIL's checkpoint -> ``resnet18_places365.onnx``."""
    from medialens.models.convert import resnet

    resnet.convert_checkpoint(stage / PLACES365_CHECKPOINT, stage / PLACES365_ONNX)


def convert_videomae(stage: Path) -> None:
    """``ModelSpec.convert`` for VideoMAE classifiers: ``config.json`` + ``videomae.weights`` -> ``model.onnx``."""
    from medialens.models.convert import videomae

    videomae.convert(stage)


def tfjs_converter(stem: str) -> Callable[[Path], None]:
    """``ModelSpec.convert`` for a human-models TF.js graph: ``<stem>.json`` + shards -> ``<stem>.onnx``."""

    def run(stage: Path) -> None:
        from medialens.models.convert import tfjs

        tfjs.convert_file(stage / f"{stem}.json", stage / f"{stem}.onnx")

    run.__name__ = f"convert_{stem}"
    return run


#: inaSpeechSegmenter 0.6.8's Keras models (members of its wheel) and the ONNX files they become.
INA_KERAS = {
    "keras_male_female_cnn.hdf5": "gender_cnn.onnx",
    "keras_speech_music_cnn.hdf5": "speech_music_cnn.onnx",
    "keras_speech_music_noise_cnn.hdf5": "speech_music_noise_cnn.onnx",
}


def convert_ina_speech_segmenter(stage: Path) -> None:
    """``ModelSpec.convert`` for ``ina-speech-segmenter``: each Keras HDF5 -> ONNX (needs h5py at pull time)."""
    from medialens.models.convert import keras_h5

    for src, dst in INA_KERAS.items():
        keras_h5.convert_file(stage / src, stage / dst)
