"""The video fingerprint's network: MobileNetV2 up to its last feature map, quantized to int8 at pull time.

Fingerprinting runs the network 2.5 times a sampled frame, and on a 2-core CPU that network is most of a DNA job.
Int8 makes it 1.5x cheaper (6 against 9 CPU-ms a 224-px frame). Two choices keep the descriptors usable:
- weights in 7 bits (``reduce_range``): on CPUs without VNNI, ONNX Runtime's u8 x s8 kernels add pairs of products
  in 16 bits, which saturate with full-range weights. The whitened descriptors came out at a mean cosine of 0.68
  to the float ones without it, 0.88 with it;
- the whitening (``data/fingerprint_pca.npz``) is fitted on the int8 network's own descriptors, so copies are
  compared in the space the network actually produces.

The activation ranges are calibrated once on still images (``bench/fit_fingerprint_pca.py``, percentile) and
shipped as ``data/fingerprint_int8_ranges.json``; a pull quantizes the float model it has just converted with
them, so every install builds the same network without calibration data of its own.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import numpy as np
import onnx

from medialens.models.convert import FINGERPRINT_FEATURE_MAP as FEATURE_MAP
from medialens.models.convert import FINGERPRINT_SIDE as SIDE
from medialens.models.convert import MOBILENET_V2_FINGERPRINT_INT8, MOBILENET_V2_ONNX

RANGES = "fingerprint_int8_ranges.json"


def feature_map_model(float_onnx: Path) -> onnx.ModelProto:
    """The float network cut at its last feature map (the input of its global average pooling, renamed
    ``FEATURE_MAP``; the classifier head dropped), for SIDE x SIDE inputs."""
    from onnx.utils import Extractor

    model = onnx.load(str(float_onnx))
    (last,) = [n.input[0] for n in model.graph.node if n.op_type == "GlobalAveragePool"]
    model.graph.output.append(onnx.helper.make_tensor_value_info(last, onnx.TensorProto.FLOAT, None))
    model = Extractor(model).extract_model([model.graph.input[0].name], [last])
    for node in model.graph.node:
        node.output[:] = [FEATURE_MAP if o == last else o for o in node.output]
    model.graph.output[0].name = FEATURE_MAP
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_param, dims[2].dim_value, dims[3].dim_value = "N", SIDE, SIDE
    return model


def prepared(float_onnx: Path, workdir: Path) -> Path:
    """The cut network after ONNX Runtime's quantization pre-processing (shapes inferred, graph optimized): the
    graph whose tensors the shipped ranges name."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    cut, out = workdir / "feature_map.onnx", workdir / "feature_map_prepared.onnx"
    onnx.save(feature_map_model(float_onnx), str(cut))
    quant_pre_process(str(cut), str(out), skip_symbolic_shape=True)
    return out


def calibrate(prepared_onnx: Path, batches: Iterable[np.ndarray], out: Path, workdir: Path) -> None:
    """Activation ranges of ``prepared_onnx`` over ``batches`` (normalised NCHW inputs), written as ORT's
    calibration cache (what ``quantize`` reads)."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod
    from onnxruntime.quantization.calibrate import create_calibrator, save_tensors_data

    class One(CalibrationDataReader):
        def __init__(self, x: np.ndarray) -> None:
            self._x: np.ndarray | None = x

        def get_next(self) -> dict[str, np.ndarray] | None:
            x, self._x = self._x, None
            return None if x is None else {"input": x}

    calibrator = create_calibrator(
        prepared_onnx,
        augmented_model_path=str(workdir / "augmented.onnx"),
        calibrate_method=CalibrationMethod.Percentile,
    )
    for x in batches:  # a batch at a time into the histograms: every activation of every image at once is ~GBs
        calibrator.collect_data(One(x))
    save_tensors_data(calibrator.compute_data(), out)
    out.chmod(0o644)  # written through mkstemp (0600): it is shipped data


def quantize(prepared_onnx: Path, ranges: Path, dst: Path, workdir: Path) -> None:
    """``prepared_onnx`` as a QDQ int8 model (weights per channel in 7 bits, activations u8 in ``ranges``), but for
    its first convolution, which reads the normalised image in float: on the copies of the half of the test videos
    the threshold is chosen on, 62 of 65 found with it quantized, 64 with it in float (its input is the picture
    itself, and u8 in a calibrated range loses what the pixels' own 8 bits held), for 2.5 % more network time."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    graph = onnx.load(str(prepared_onnx)).graph
    first_conv = next(node.name for node in graph.node if node.op_type == "Conv")
    names = {n for node in graph.node for n in node.output}
    missing = names - set(json.loads(ranges.read_text())["data"])
    if missing:  # another ONNX Runtime than the ranges were calibrated with may name tensors otherwise
        raise ValueError(f"{ranges.name} has no range for {len(missing)} tensors (e.g. {sorted(missing)[:3]})")
    cache = workdir / "ranges.json"  # quantize_static may rewrite its cache: never the shipped file
    shutil.copyfile(ranges, cache)
    tmp = dst.with_name(dst.name + ".tmp")
    quantize_static(
        str(prepared_onnx),
        str(tmp),
        None,
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        reduce_range=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.Percentile,
        calibration_cache_path=str(cache),
        nodes_to_exclude=[first_conv],
    )
    tmp.replace(dst)


def shipped_ranges() -> Path:
    return Path(str(resources.files("medialens").joinpath("data", RANGES)))


def convert(stage: Path, ranges: Path | None = None) -> None:
    """``stage/mobilenet_v2.onnx`` -> ``stage/mobilenet_v2_fingerprint_int8.onnx`` (after the float conversion)."""
    with tempfile.TemporaryDirectory(prefix="fingerprint-int8-") as tmp:
        work = Path(tmp)
        float_net = prepared(stage / MOBILENET_V2_ONNX, work)
        quantize(float_net, ranges or shipped_ranges(), stage / MOBILENET_V2_FINGERPRINT_INT8, work)
