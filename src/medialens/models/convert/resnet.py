"""A torchvision-layout ResNet-18 checkpoint -> ONNX, torch-free (CSAIL's Places365 ResNet-18 is one).

CSAIL released ``resnet18_places365.pth.tar``: ``{"epoch", "arch", "state_dict", "best_prec1"}`` saved by
PyTorch 0.3 in the legacy format, the state dict's keys prefixed ``module.`` (trained under DataParallel), the
network torchvision's ``resnet18(num_classes=365)``. ``torch_pickle`` reads it; the graph is torchvision's
ResNet-18 built with ``onnx.helper`` (BatchNorm folded into the convolutions): conv 7x7/2, max-pool 3x3/2, four
stages of two basic blocks (64, 128, 256, 512 channels; stages 2-4 start with stride 2 and a 1x1 projection on
the shortcut), global average pool, fully connected. Input ``input`` [N, 3, 224, 224] (ImageNet mean/std),
output ``logits`` [N, classes].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from medialens.models.convert.mobilenet import GraphBuilder, fold_bn, save_model
from medialens.models.convert.torch_pickle import CheckpointError, load_state_dict

OPSET = 13
STAGES = ((1, 1), (2, 2), (3, 2), (4, 2))  # (torchvision layer index, first block's stride)
BLOCKS = 2


def strip_prefix(sd: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """DataParallel's ``module.`` prefix off every key."""
    return {k.removeprefix("module."): v for k, v in sd.items()}


def _conv_bn(g: GraphBuilder, sd: dict[str, np.ndarray], conv: str, bn: str, x: str, stride: int) -> str:
    try:
        w = sd[f"{conv}.weight"]
        wf, bf = fold_bn(w, sd[f"{bn}.weight"], sd[f"{bn}.bias"], sd[f"{bn}.running_mean"], sd[f"{bn}.running_var"])
    except KeyError as err:
        raise CheckpointError(f"not a torchvision ResNet-18 state dict: {err.args[0]} is missing") from None
    return g.conv(x, wf, bf, stride=stride)


def build_model(sd: dict[str, np.ndarray]) -> onnx.ModelProto:
    g = GraphBuilder()
    x = g.op("Relu", [_conv_bn(g, sd, "conv1", "bn1", "input", 2)])
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    for layer, stride in STAGES:
        for block in range(BLOCKS):
            p = f"layer{layer}.{block}"
            s = stride if block == 0 else 1
            y = g.op("Relu", [_conv_bn(g, sd, f"{p}.conv1", f"{p}.bn1", x, s)])
            y = _conv_bn(g, sd, f"{p}.conv2", f"{p}.bn2", y, 1)
            shortcut = (
                _conv_bn(g, sd, f"{p}.downsample.0", f"{p}.downsample.1", x, s)
                if f"{p}.downsample.0.weight" in sd
                else x
            )
            x = g.op("Relu", [g.op("Add", [y, shortcut])])
    feats = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    try:
        fc_w, fc_b = sd["fc.weight"].astype(np.float32), sd["fc.bias"].astype(np.float32)
    except KeyError:
        raise CheckpointError("not a torchvision ResNet-18 state dict: fc.weight is missing") from None
    g.op("Gemm", [feats, g.const(fc_w, "fc_w"), g.const(fc_b, "fc_b")], out="logits", transB=1)
    return g.model(
        "resnet18",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", fc_w.shape[0]])],
        OPSET,
    )


def convert_checkpoint(src: Path, dst: Path) -> None:
    save_model(build_model(strip_prefix(load_state_dict(src))), dst)
