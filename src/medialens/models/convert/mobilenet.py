"""torchvision MobileNetV2 checkpoint -> ONNX, torch-free.

The state dict is read by ``torch_pickle`` (restricted unpickler), BatchNorm is folded into the preceding
convolutions, and the graph is built with ``onnx.helper``: Conv, Clip(0, 6) for ReLU6, Add for the residuals,
GlobalAveragePool, Flatten, Gemm. Outputs ``logits`` [N, 1000] and the pooled ``features`` [N, 1280]; the
batch dimension is dynamic. Input ``input`` [N, 3, 224, 224], RGB normalised with the ImageNet mean/std.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from medialens.models.convert import MOBILENET_V2_ONNX
from medialens.models.convert.torch_pickle import load_state_dict

CHECKPOINT = "mobilenet_v2-b0353104.pth"
ONNX_FILE = MOBILENET_V2_ONNX
OPSET = 13
BN_EPS = 1e-5  # torch.nn.BatchNorm2d default, as torchvision's MobileNetV2 uses
#: torchvision's inverted-residual settings (expansion t, channels c, repeats n, first stride s).
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def block_strides() -> list[int]:
    return [s if i == 0 else 1 for _t, _c, n, s in SETTINGS for i in range(n)]


def fold_bn(
    weight: np.ndarray, gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray, var: np.ndarray, eps: float = BN_EPS
) -> tuple[np.ndarray, np.ndarray]:
    """Conv weight [O, I, kh, kw] (no bias) followed by BatchNorm -> (weight, bias) of one conv."""
    scale = gamma / np.sqrt(var + eps)
    w = weight * scale[:, None, None, None]
    b = beta - mean * scale
    return w.astype(np.float32), b.astype(np.float32)


class GraphBuilder:
    """Accumulates nodes and initializers; names are generated so callers only pass tensor names around."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self._n}"

    def const(self, array: np.ndarray, prefix: str = "c") -> str:
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], out: str | None = None, **attrs) -> str:
        out = out or self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x: str, w: np.ndarray, b: np.ndarray, stride: int = 1, groups: int = 1) -> str:
        k = w.shape[2]
        pad = k // 2
        return self.op(
            "Conv",
            [x, self.const(w, "w"), self.const(b, "b")],
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=[pad, pad, pad, pad],
            group=groups,
        )

    def relu6(self, x: str) -> str:
        return self.op("Clip", [x, self.const(np.float32(0.0), "zero"), self.const(np.float32(6.0), "six")])

    def model(
        self, name: str, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto], opset: int = OPSET
    ) -> onnx.ModelProto:
        """The checked model of the nodes built so far (IR 8: what the pinned ONNX Runtime reads)."""
        graph = helper.make_graph(self.nodes, name, inputs, outputs, initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="medialens")
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def save_model(model: onnx.ModelProto, dst: Path) -> None:
    """Write beside ``dst`` then rename: an interrupted pull never leaves half a model under the final name."""
    tmp = dst.with_name(dst.name + ".tmp")
    onnx.save(model, str(tmp))
    tmp.replace(dst)


def _conv_bn(g: GraphBuilder, sd: dict[str, np.ndarray], conv: str, bn: str, x: str, stride: int, act: bool) -> str:
    w = sd[f"{conv}.weight"]
    wf, bf = fold_bn(w, sd[f"{bn}.weight"], sd[f"{bn}.bias"], sd[f"{bn}.running_mean"], sd[f"{bn}.running_var"])
    in_ch = w.shape[1]
    groups = 1 if in_ch != 1 or w.shape[0] == 1 else w.shape[0]  # depthwise: one input channel per group
    y = g.conv(x, wf, bf, stride=stride, groups=groups)
    return g.relu6(y) if act else y


def build_model(sd: dict[str, np.ndarray]) -> onnx.ModelProto:
    """The ONNX MobileNetV2 for a torchvision state dict (any width multiplier; block strides fixed)."""
    g = GraphBuilder()
    x = _conv_bn(g, sd, "features.0.0", "features.0.1", "input", 2, True)
    for i, stride in enumerate(block_strides(), start=1):
        p = f"features.{i}.conv"
        inp_ch = sd[f"{p}.0.0.weight"].shape[1] if sd[f"{p}.0.0.weight"].shape[1] != 1 else None
        y = x
        if f"{p}.3.weight" in sd:  # expansion: pw (conv.0) -> dw (conv.1) -> pw-linear (conv.2 + bn conv.3)
            y = _conv_bn(g, sd, f"{p}.0.0", f"{p}.0.1", y, 1, True)
            y = _conv_bn(g, sd, f"{p}.1.0", f"{p}.1.1", y, stride, True)
            y = _conv_bn(g, sd, f"{p}.2", f"{p}.3", y, 1, False)
        else:  # t == 1: dw (conv.0) -> pw-linear (conv.1 + bn conv.2)
            inp_ch = sd[f"{p}.0.0.weight"].shape[0]
            y = _conv_bn(g, sd, f"{p}.0.0", f"{p}.0.1", y, stride, True)
            y = _conv_bn(g, sd, f"{p}.1", f"{p}.2", y, 1, False)
        out_ch = sd[f"{p}.{3 if f'{p}.3.weight' in sd else 2}.weight"].shape[0]
        x = g.op("Add", [x, y]) if stride == 1 and inp_ch == out_ch else y
    last = len(block_strides()) + 1
    x = _conv_bn(g, sd, f"features.{last}.0", f"features.{last}.1", x, 1, True)
    pooled = g.op("GlobalAveragePool", [x])
    feats = g.op("Flatten", [pooled], out="features", axis=1)
    fc_w = sd["classifier.1.weight"].astype(np.float32)
    fc_b = sd["classifier.1.bias"].astype(np.float32)
    g.op("Gemm", [feats, g.const(fc_w, "fc_w"), g.const(fc_b, "fc_b")], out="logits", transB=1)
    n_feat, n_cls = fc_w.shape[1], fc_w.shape[0]
    return g.model(
        "mobilenet_v2",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", n_cls]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", n_feat]),
        ],
    )


def convert_checkpoint(src: Path, dst: Path) -> None:
    save_model(build_model(load_state_dict(src)), dst)


def convert(stage: Path) -> None:
    """``ModelSpec.convert`` for ``mobilenet-v2``: the staged .pth -> ``mobilenet_v2.onnx``."""
    convert_checkpoint(stage / CHECKPOINT, stage / ONNX_FILE)
