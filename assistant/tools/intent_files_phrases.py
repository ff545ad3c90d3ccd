"""The phrasings of a file request, in English, Polish and Russian, as anchored patterns.

``SEARCH`` patterns capture the topic as ``q`` ("which file explains the KV cache?"),
``LIST`` patterns may capture a name ``topic`` or a file type ``ext`` ("list the markdown
files"). Each pattern must match the whole clause, and each names the documents (files,
notes, pliki, файлы, ...) or a search verb, so a question *about* a topic stays with retrieval.
A new phrasing is one more entry here; intent_files decides what to call.
"""

from __future__ import annotations

import re

DOCS = r"(?:files?|notes?|documents?|docs?|pages?|chapters?|sources?|lecture\s+notes)"
_PL_DOCS = r"(?:plik\w*|notat\w*|dokument\w*|materiał\w*)"
_RU_DOCS = r"(?:файл\w*|документ\w*|заметк\w*|конспект\w*|материал\w*)"
ANY_DOCS = rf"(?:{DOCS}|{_PL_DOCS}|{_RU_DOCS}|corpus|index(?:ed)?|indeks\w*|корпус\w*|индекс\w*)"
_COVERS = (
    r"(?:mentions?|contains?|talks?\s+about|discuss(?:es)?|covers?|refers?\s+to|"
    r"says?\s+(?:anything\s+)?about|uses?|(?:have|has)(?!\s+(?:you|we|I|they)\b)|include|"
    r"includes|explains?|describes?|"
    r"defines?|introduces?|deals?\s+with|goes\s+(?:over|into)|(?:is|are)\s+about|"
    r"(?:has|have)\s+(?:the\s+)?(?:definition|explanation|section|part)\s+(?:of|on|about))"
)
_ABOUT = r"(?:about|on|regarding|covering|explaining|describing|mentioning|discussing)"
_IN_DOCS = rf"\s+in\s+(?:the\s+|my\s+|your\s+|all\s+)?(?:{DOCS}|corpus|index)"


def _compile(patterns: list[str]) -> list[re.Pattern[str]]:
    return [re.compile(pattern, re.IGNORECASE) for pattern in patterns]


SEARCH = _compile(
    [
        rf"^(?:which|what)\s+(?:of\s+the\s+|of\s+your\s+)?{DOCS}\s+{_COVERS}\s+(?P<q>.+)$",
        rf"^(?:find|search|grep|look)\s+(?:for\s+)?(?:all\s+)?(?:the\s+)?(?:{DOCS}\s+)?"
        r"(?:that\s+|which\s+)?(?:mentions?|contains?|containing|mentioning|with|for)\s+"
        r"(?P<q>.+)$",
        rf"^(?:search|grep)\s+(?:the\s+|my\s+|your\s+|all\s+)?{DOCS}\s+(?:for\s+)?(?P<q>.+)$",
        rf"^(?:where|in\s+which\s+{DOCS}|in\s+what\s+{DOCS})\s+(?:is|are|does|do)\s+"
        r"(?P<q>.+?)\s+(?:mentioned|discussed|defined|explained|covered|used|appear)"
        rf"(?:\s+in\s+the\s+{DOCS})?$",
        rf"^(?:do|does|are\s+there)\s+(?:any|some)\s+(?:of\s+the\s+)?{DOCS}\s+"
        r"(?:mention|contain|talk\s+about|discuss|cover|refer\s+to|use|mentioning|containing)"
        r"\s+(?P<q>.+)$",
        r"^grep\s+(?P<q>.+)$",
        # "any files about X", "is there a note that covers X", "find the notes on X"
        rf"^(?:(?:are|is)\s+there\s+)?(?:any|some|a|an)\s+{DOCS}\s+"
        rf"(?:(?:that|which)\s+{_COVERS}|{_ABOUT})\s+(?P<q>.+)$",
        rf"^(?:find|locate|get|fetch)\s+(?:me\s+)?(?:the|a|any|all\s+(?:the\s+)?)?\s*{DOCS}\s+"
        rf"(?:(?:that|which)\s+{_COVERS}|{_ABOUT})\s+(?P<q>.+)$",
        rf"^which\s+{DOCS}\s+(?:should|do|can)\s+I\s+(?:read|open|look\s+at|check)\s+"
        r"(?:for|about|on|to\s+learn\s+about)\s+(?P<q>.+)$",
        rf"^where\s+(?:can|could|do|should)\s+I\s+(?:read|find|learn|look)\s+(?:more\s+)?"
        rf"(?:about|up|for)\s+(?P<q>.+?){_IN_DOCS}$",
        rf"^(?:look\s+up|search\s+(?:for\s+)?|find)\s+(?P<q>.+?){_IN_DOCS}$",
        rf"^(?:(?:have\s+)?you\s+)?(?:got|have)\s+anything\s+{_ABOUT}\s+(?P<q>.+?){_IN_DOCS}$",
        rf"^(?:do\s+you\s+have|is\s+there)\s+anything\s+{_ABOUT}\s+(?P<q>.+?){_IN_DOCS}$",
        # Polish: "który plik opisuje X", "znajdź w notatkach słowo X", "gdzie jest mowa o X"
        rf"^(?:w\s+)?(?:który|którym|która|której|jaki|jakim|jakie|jakich)\s+{_PL_DOCS}\s+"
        r"(?:opisuje|omawia|wyjaśnia|zawiera|dotyczy|mówi\s+o|jest\s+o|"
        r"(?:jest|są)\s+(?:mowa\s+)?o|opisano|wspomina\s+o|znajdę|przeczytam\s+o)\s+(?P<q>.+)$",
        rf"^(?:znajdź|wyszukaj|szukaj|poszukaj)\s+(?:mi\s+)?w\s+{_PL_DOCS}\s+"
        r"(?:słowo\s+|frazę\s+|hasło\s+|termin\s+)?(?P<q>.+)$",
        rf"^(?:znajdź|wyszukaj|szukaj|poszukaj)\s+(?:mi\s+)?(?:słowo|frazę|hasło|termin)\s+"
        rf"(?P<q>.+?)(?:\s+w\s+{_PL_DOCS})?$",
        rf"^(?:znajdź|wyszukaj)\s+(?:mi\s+)?{_PL_DOCS}\s+(?:o|na\s+temat|dotyczące)\s+(?P<q>.+)$",
        rf"^gdzie\s+(?:w\s+{_PL_DOCS}\s+)?(?:jest\s+mowa\s+o|(?:jest\s+)?opisan[eya]|"
        r"wspomniano\s+o|piszesz\s+o)\s+(?P<q>.+)$",
        rf"^(?:czy\s+)?(?:są|jest|masz)\s+(?:jakieś|jakiś|jakaś)?\s*{_PL_DOCS}\s+"
        r"(?:o|na\s+temat|dotycząc\w*)\s+(?P<q>.+)$",
        # Russian: "в каком файле говорится про X", "найди в заметках слово X"
        rf"^(?:в\s+)?(?:каком|какой|каких|какие|котором)\s+{_RU_DOCS}\s+"
        r"(?:(?:говорится|написано|рассказывается|описывается|описан\w*|есть|упоминается|"
        r"объясняется|речь\s+идёт|речь\s+идет)\s+)?(?:про|о|об)\s+(?P<q>.+)$",
        rf"^(?:в\s+)?(?:каком|какой|каких|какие)\s+{_RU_DOCS}\s+"
        r"(?:описывает|объясняет|упоминает|содержит|есть)\s+(?P<q>.+)$",
        rf"^(?:найди|поищи|ищи|отыщи)\s+(?:мне\s+)?в\s+{_RU_DOCS}\s+"
        r"(?:слово\s+|фразу\s+|термин\s+)?(?P<q>.+)$",
        rf"^(?:найди|поищи|ищи|отыщи)\s+(?:мне\s+)?(?:слово|фразу|термин)\s+"
        rf"(?P<q>.+?)(?:\s+в\s+{_RU_DOCS})?$",
        rf"^(?:найди|поищи)\s+(?:мне\s+)?{_RU_DOCS}\s+(?:про|о|об)\s+(?P<q>.+)$",
        rf"^где\s+(?:в\s+{_RU_DOCS}\s+)?(?:говорится|написано|рассказывается|упоминается)\s+"
        r"(?:про|о|об)\s+(?P<q>.+)$",
        rf"^(?:есть\s+ли\s+)?(?:какие-нибудь\s+|какие-то\s+)?{_RU_DOCS}\s+(?:про|о|об)\s+"
        r"(?P<q>.+)$",
    ]
)

_EXT = r"(?:(?P<ext>markdown|md|text|txt|pdf|html)\s+)?"
_TOPIC = r"(?:\s+(?:about|on|matching|named|called)\s+(?P<topic>[\w*.-]+))?"
LIST = _compile(
    [
        r"^(?:(?:can|could)\s+you\s+)?(?:please\s+)?"
        r"(?:list|ls|show(?:\s+me)?|what\s+are|which\s+are|give\s+me|enumerate)\s+"
        r"(?:the\s+|all\s+(?:the\s+)?|your\s+|my\s+|available\s+)?"
        + _EXT
        + DOCS
        + r"(?:\s+(?:you\s+have|available|there\s+are|in\s+the\s+(?:folder|corpus|index)))?"
        + _TOPIC
        + "$",
        rf"^(?:(?:show|tell)\s+me\s+)?(?:what|which)\s+{_EXT}{DOCS}\s+(?:are\s+there|there\s+are|"
        r"do\s+you\s+have|you\s+have|have\s+you\s+got|you've\s+got|can\s+you\s+see|exist|"
        r"are\s+available|are\s+indexed|(?:can|could)\s+I\s+(?:read|see|open|look\s+at|use)|"
        r"are\s+in\s+(?:the\s+|your\s+)?(?:corpus|index|folder))" + _TOPIC + "$",
        rf"^(?:(?:give|show)\s+me\s+)?(?:a\s+|the\s+)?list\s+of\s+(?:all\s+)?(?:the\s+|your\s+)?"
        rf"{_EXT}(?:{DOCS}|everything)(?:\s+(?:in|from)\s+(?:the\s+|your\s+)?"
        r"(?:corpus|index|folder))?$",
        r"^what(?:'s|\s+is)\s+in\s+(?:the\s+|your\s+)?(?:corpus|index|document\s+folder)$",
        # Polish: "pokaż listę plików", "jakie masz notatki"
        rf"^(?:pokaż|wyświetl|wylistuj|wypisz|podaj)\s+(?:mi\s+)?(?:listę\s+|spis\s+)?"
        rf"(?:wszystkie\s+|wszystkich\s+)?{_PL_DOCS}$",
        rf"^(?:jakie|które)\s+(?:masz|są|mamy|macie)\s+{_PL_DOCS}$",
        rf"^(?:jakie|które)\s+{_PL_DOCS}\s+(?:masz|mamy|macie|są(?:\s+dostępne)?)$",
        rf"^(?:lista|spis)\s+{_PL_DOCS}$",
        rf"^(?:pokaż|powiedz)(?:\s+mi)?,?\s+co\s+(?:masz|jest|mamy)\s+w\s+{_PL_DOCS}$",
        # Russian: "покажи список файлов", "какие у тебя есть документы"
        rf"^(?:покажи|выведи|перечисли|дай)\s+(?:мне\s+)?(?:список\s+)?(?:все\s+|всех\s+)?"
        rf"{_RU_DOCS}$",
        rf"^какие\s+(?:у\s+(?:тебя|вас)\s+)?(?:есть\s+)?{_RU_DOCS}"
        r"(?:\s+у\s+(?:тебя|вас))?(?:\s+есть)?$",
        rf"^список\s+{_RU_DOCS}$",
        rf"^что\s+(?:у\s+(?:тебя|вас)\s+)?есть\s+(?:из|в|среди)\s+{_RU_DOCS}$",
    ]
)
