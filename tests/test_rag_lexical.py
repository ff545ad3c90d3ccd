from pathlib import Path

from assistant.rag import Indexer, IndexStore
from assistant.rag.lexical import lexical_query_tokens, lexical_tokens
from tests.rag_support import rag_settings, tiny_embedder


def test_words_are_casefolded_and_split_on_punctuation() -> None:
    assert lexical_tokens("Top-p Sampling, GPT-2!") == ["top", "p", "sampling", "gpt", "2"]


def test_cjk_runs_become_bigrams() -> None:
    assert lexical_tokens("機器學習") == ["機器", "器學", "學習"]
    assert lexical_tokens("マスク") == ["マス", "スク"]
    assert lexical_tokens("字") == ["字"]


def test_mixed_scripts_keep_their_own_rules() -> None:
    tokens = lexical_tokens("LSTM 為每個 Gate; Zażółć Доступность")
    assert tokens == ["lstm", "為每", "每個", "gate", "zażółć", "доступность"]


def test_fullwidth_forms_are_normalized() -> None:
    assert lexical_tokens("ＧＰＴ２") == ["gpt2"]


def test_queries_drop_function_words_of_english_polish_and_russian() -> None:
    assert lexical_query_tokens("What does the BERT mask?") == ["bert", "mask"]
    assert lexical_query_tokens("Jaki jest rozmiar kontekstu?") == ["rozmiar", "kontekstu"]
    assert lexical_query_tokens("Сколько слоёв было у GPT?") == ["слоёв", "gpt"]
    assert lexical_query_tokens("機器學習") == lexical_tokens("機器學習")
    # Nothing but function words: searched as they are rather than not at all.
    assert lexical_query_tokens("what is it") == ["what", "is", "it"]


def test_function_words_of_the_query_do_not_pick_the_passage(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "pl.txt").write_text("Model odgaduje zamaskowane słowa.\n", encoding="utf-8")
    (folder / "code.txt").write_text("What does the code do? What is the loop for?\n")
    settings = rag_settings(tmp_path / "index")
    Indexer(settings, embedder=tiny_embedder()).add([folder])
    store = IndexStore.open(settings.index_path)
    try:
        hits = store.search_lexical("What does the model do with zamaskowane words?", 5)
        assert [store.chunks([cid])[cid].path.endswith("pl.txt") for cid, _ in hits] == [True]
    finally:
        store.close()
