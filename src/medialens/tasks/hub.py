"""The Model Hub tasks: one per Model Hub model that has an analysis (analyses/model_hub.py).

Images come as base64 (``data_base64``; a second image, where a task compares two, as ``images[0]``) or by URL.
The Model Hub has no minimum image size (an OCR line crop is a few pixels high), so none is applied here.
"""

from __future__ import annotations

import base64
import binascii

import numpy as np
from PIL import Image

from medialens.analyses import model_hub as mh
from medialens.media.errors import DecodeError
from medialens.media.images import load_image
from medialens.models.pipelines.detection import Detection
from medialens.tasks import hub_types as t
from medialens.tasks.base import TaskContext, TaskInput, TaskSpec
from medialens.tasks.edits import encode_jpeg
from medialens.tasks.intake import fetch_image
from medialens.tasks.options import TaskOptions


def _decode(data: bytes | str, settings, what: str = "image") -> Image.Image:
    """An image from its bytes, or from base64 text (stored inputs, another process's request)."""
    if isinstance(data, str):
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as err:
            raise DecodeError(f"{what} is not valid base64") from err
    return load_image(data, settings=settings, check_min_side=False)


def _image(ctx: TaskContext, given: TaskInput) -> Image.Image:
    first = given.data if given.data is not None else given.data_base64
    if first is None:
        return fetch_image(given.url, ctx.settings)
    return _decode(first, ctx.settings)


def _pair(ctx: TaskContext, given: TaskInput) -> tuple[Image.Image, Image.Image]:
    first, others = given.media_bytes()
    first = first if first is not None else given.data_base64
    if first is None or len(others) != 1:
        raise DecodeError("two images are needed")
    return _decode(first, ctx.settings, "imagea"), _decode(others[0], ctx.settings, "imageb")


def image_classification(ctx: TaskContext, given: TaskInput, _o: TaskOptions) -> t.ImageClass:
    result = mh.imagenet(_image(ctx, given), ctx.settings)
    names = mh.class_names()
    best = int(np.argmax(result.probs))
    probs = {n: float(p) for n, p in zip(names, result.probs, strict=True)}
    return t.ImageClass(class_id=best, class_name=names[best], probs=probs, model=mh.IMAGENET_MODEL)


def _objects(dets: list[Detection]) -> list[t.DetectedObject]:
    return [t.DetectedObject(box=d.box, score=float(d.score), class_id=d.class_id + 1, name=d.label) for d in dets]


def object_detection(ctx: TaskContext, given: TaskInput, _o: TaskOptions) -> t.Detections:
    image = _image(ctx, given)
    objs = _objects(mh.detect(image, ctx.settings))
    return t.Detections(width=image.width, height=image.height, objects=objs, model=mh.DETECTOR_MODEL)


def inventory_counting(ctx: TaskContext, given: TaskInput, _o: TaskOptions) -> t.Detections:
    image = _image(ctx, given)
    dets, method = mh.inventory(image, ctx.settings)
    objs = _objects(dets)
    counts = mh.sequence_counts([o.name for o in objs])
    return t.Detections(width=image.width, height=image.height, objects=objs, counts=counts, model=method)


def ocr(ctx: TaskContext, given: TaskInput, _o: TaskOptions) -> t.TextLines:
    image = _image(ctx, given)
    lines = [
        t.TextLine(corners=list(ln.corners), text=ln.text, score=ln.score, char_ids=list(ln.char_ids))
        for ln in mh.read_text(image, ctx.settings)
    ]
    return t.TextLines(width=image.width, height=image.height, lines=lines, model=mh.ocr_model(ctx.settings))


def foreground_segmentation(ctx: TaskContext, given: TaskInput, _o: TaskOptions) -> t.Foreground:
    image = _image(ctx, given)
    mask = mh.person_mask(image, ctx.settings)
    return t.Foreground(
        width=image.width,
        height=image.height,
        ratio=float(mask.mean()) if mask.size else 0.0,
        mask_bits=base64.b64encode(np.packbits(mask.astype(bool).reshape(-1)).tobytes()).decode("ascii"),
        model=mh.SEGMENTATION_MODEL,
    )


def scene_classification(ctx: TaskContext, given: TaskInput, _o: TaskOptions) -> t.Scenes:
    scores = mh.scenes(_image(ctx, given), ctx.settings)
    order = np.argsort(-scores.probs, kind="stable")[:5]
    return t.Scenes(
        top=[(int(i), scores.names[i]) for i in order],
        probs={name: float(p) for name, p in zip(scores.names, scores.probs, strict=True)},
        model=scores.model,
    )


def image_similarity(ctx: TaskContext, given: TaskInput, _o: TaskOptions) -> t.Similarity:
    a, b = _pair(ctx, given)
    cos, l2 = mh.compare_vectors(mh.image_vector(a, ctx.settings), mh.image_vector(b, ctx.settings))
    return t.Similarity(similarity=max(0.0, cos) * 100.0, cosine=cos, l2_distance=l2, model=mh.IMAGENET_MODEL)


def product_comparison(ctx: TaskContext, given: TaskInput, _o: t.CompareOptions) -> t.Similarity:
    return image_similarity(ctx, given, _o)


def face_similarity(ctx: TaskContext, given: TaskInput, _o: TaskOptions) -> t.FaceSimilarity:
    a, b = _pair(ctx, given)
    ea = mh.single_face_embedding(a, ctx.settings, "imagea")
    eb = mh.single_face_embedding(b, ctx.settings, "imageb")
    distance = float(np.linalg.norm(ea - eb))
    return t.FaceSimilarity(similarity=mh.face_similarity(distance), distance=distance, model=mh.FACE_MODEL)


def face_properties(ctx: TaskContext, given: TaskInput, _o: TaskOptions) -> t.FacePropertiesResult:
    faces = [
        t.FaceProperties(box=f.box, score=f.score, age=f.age, gender=f.gender, emotion=f.emotion)
        for f in mh.face_properties(_image(ctx, given), ctx.settings)
    ]
    return t.FacePropertiesResult(faces=faces, model=f"{mh.FACE_MODEL}+{mh.AGE_MODEL}+{mh.EMOTION_MODEL}")


def text_vectorization(ctx: TaskContext, given: TaskInput, o: t.TextVectorOptions) -> t.TextVectors:
    v = mh.text_vectors(given.text, o.second_sequence, o.sequence_length, ctx.settings)
    return t.TextVectors(
        pool=v.pool.tolist(),
        first_token=v.first_token.tolist() if v.first_token is not None else None,
        hidden=v.hidden.tolist() if v.hidden is not None else None,
        tokens=v.tokens,
        model=v.model,
    )


def semantic_segmentation(ctx: TaskContext, given: TaskInput, _o: TaskOptions) -> t.Segments:
    image = _image(ctx, given)
    seg = mh.semantic_segments(image, ctx.settings)
    return t.Segments(
        width=image.width,
        height=image.height,
        classes=seg.classes.tolist(),
        probs=np.round(seg.probs, 4).tolist(),
        names=list(seg.names),
        model=mh.SEMANTIC_MODEL,
    )


def instance_segmentation(ctx: TaskContext, given: TaskInput, _o: TaskOptions) -> t.Instances:
    image = _image(ctx, given)
    dets = mh.instances(image, ctx.settings)
    objects = [t.DetectedObject(box=d.box, score=float(d.score), class_id=d.class_id + 1, name=d.label) for d in dets]
    empty = np.zeros((image.height, image.width), bool)
    masks = [
        t.Rle(size=(image.height, image.width), counts=mh.rle_counts(d.mask if d.mask is not None else empty))
        for d in dets
    ]
    return t.Instances(width=image.width, height=image.height, objects=objects, masks=masks, model=mh.INSTANCE_MODEL)


def image_colorization(ctx: TaskContext, given: TaskInput, _o: TaskOptions) -> t.EditedImage:
    out = mh.colorize(_image(ctx, given), ctx.settings)
    return t.EditedImage(image=encode_jpeg(out), width=out.width, height=out.height, model=mh.COLOR_MODEL)


def face_enhancement(ctx: TaskContext, given: TaskInput, _o: TaskOptions) -> t.EditedImage:
    out, faces = mh.restore_faces(_image(ctx, given), ctx.settings)
    return t.EditedImage(
        image=encode_jpeg(out), width=out.width, height=out.height, faces=faces, model=mh.RESTORE_MODEL
    )


_FACES = (mh.FACE_MODEL,)
HUB_SPECS = (
    TaskSpec("image_classification", "image", image_classification, TaskOptions, t.ImageClass, (mh.IMAGENET_MODEL,),
             "ImageNet classes (Model Hub)"),
    TaskSpec("object_detection", "image", object_detection, TaskOptions, t.Detections, (mh.DETECTOR_MODEL,),
             "COCO objects (Model Hub)"),
    TaskSpec("inventory_counting", "image", inventory_counting, TaskOptions, t.Detections, (mh.DETECTOR_MODEL,),
             "retail objects counted (Model Hub)"),
    TaskSpec("ocr", "image", ocr, TaskOptions, t.TextLines, (mh.OCR_MODEL,), "text lines (Model Hub)"),
    TaskSpec("foreground_segmentation", "image", foreground_segmentation, TaskOptions, t.Foreground,
             (mh.SEGMENTATION_MODEL,), "person mask (Model Hub)"),
    TaskSpec("scene_classification", "image", scene_classification, TaskOptions, t.Scenes,
             (mh.IMAGENET_MODEL, mh.TEXT_MODEL), "zero-shot scene (Model Hub)"),
    TaskSpec("image_similarity", "image", image_similarity, TaskOptions, t.Similarity, (mh.IMAGENET_MODEL,),
             "two images compared (Model Hub)"),
    TaskSpec("product_comparison", "image", product_comparison, t.CompareOptions, t.Similarity,
             (mh.IMAGENET_MODEL,), "two product images compared (Model Hub)"),
    TaskSpec("face_similarity", "image", face_similarity, TaskOptions, t.FaceSimilarity, _FACES,
             "two faces compared (Model Hub)"),
    TaskSpec("face_properties", "image", face_properties, TaskOptions, t.FacePropertiesResult,
             (mh.FACE_MODEL, mh.AGE_MODEL, mh.EMOTION_MODEL), "age, gender, emotion per face (Model Hub)"),
    TaskSpec("semantic_segmentation", "image", semantic_segmentation, TaskOptions, t.Segments,
             (mh.SEMANTIC_MODEL,), "Pascal VOC classes per pixel (Model Hub, hub model)"),
    TaskSpec("instance_segmentation", "image", instance_segmentation, TaskOptions, t.Instances,
             (mh.INSTANCE_MODEL,), "COCO objects with masks (Model Hub, hub model)"),
    TaskSpec("image_colorization", "image", image_colorization, TaskOptions, t.EditedImage, (mh.COLOR_MODEL,),
             "a grey photo coloured (Model Hub, hub model)"),
    TaskSpec("face_enhancement", "image", face_enhancement, TaskOptions, t.EditedImage,
             (mh.FACE_MODEL, mh.RESTORE_MODEL), "faces restored (Model Hub, hub model)"),
    TaskSpec("text_vectorization", "text", text_vectorization, t.TextVectorOptions, t.TextVectors,
             (mh.TEXT_MODEL,), "sentence vector (Model Hub)", queue="image"),
)  # fmt: skip
