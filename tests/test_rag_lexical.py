from assistant.rag.lexical import lexical_tokens


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
