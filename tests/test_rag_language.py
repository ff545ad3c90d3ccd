"""rag/language.py: the English-or-not guess that scopes the cross-lingual sparse terms."""

from __future__ import annotations

import pytest

from assistant.rag.language import is_english


@pytest.mark.parametrize(
    "text",
    [
        "Beam search keeps the k most probable partial answers at every step.",
        "How many beams does the beam preset use?",
        "A naïve sampler picks the café's favourite token.",  # a few accents stay English
        "def forward(self, x):\n    return self.proj(torch.relu(x))",  # code
        "| 12 | 0.5 | 1e-4 |",  # no words at all
        "",
    ],
)
def test_english_prose_and_code_are_english(text: str) -> None:
    assert is_english(text)


@pytest.mark.parametrize(
    "text",
    [
        "Model językowy przewiduje następne słowo na podstawie kontekstu.",  # Polish
        "To jest model, który nie ma dekodera",  # Polish, no letter outside ASCII
        "Языковая модель предсказывает следующее слово.",  # Russian
        "语言模型根据上下文预测下一个词。",  # Chinese
        "言語モデルは次の単語を予測します。",  # Japanese
        "Das Modell sagt das nächste Wort voraus, und es ist nicht groß.",  # German
    ],
)
def test_other_languages_are_not(text: str) -> None:
    assert not is_english(text)
