from dialog.normalize import MAX_TEXT_CHARS, clean, from_layout, from_translit, to_russian_words, words


def known(word: str) -> bool:
    return word in {"сменить", "пароль", "не", "приходит", "код", "соедините", "с", "оператором"}


def test_clean_folds_case_yo_and_control_characters() -> None:
    assert clean("ЁЛКА\x00\x07Учётка") == "елка  учетка"


def test_clean_cuts_huge_text() -> None:
    assert len(clean("а" * 20_000)) == MAX_TEXT_CHARS


def test_words_split_scripts_and_numbers() -> None:
    assert words("смс-код 8800, sms!") == ["смс", "код", "8800", "sms"]


def test_english_layout_is_read_as_russian() -> None:
    assert from_layout("cvtybnm gfhjkm") == "сменить пароль"
    assert to_russian_words("cjtlbybnt c jgthfnjhjv", known) == ["соедините", "с", "оператором"]


def test_transliteration_is_read_as_russian() -> None:
    assert from_translit("ne prihodit kod") == "не приходит код"
    assert to_russian_words("ne prihodit kod", known) == ["не", "приходит", "код"]


def test_latin_words_stay_when_no_reading_helps() -> None:
    assert to_russian_words("qzx", known) == ["qzx"]


def test_stray_latin_word_in_russian_text_is_fixed() -> None:
    assert to_russian_words("как cvtybnm пароль", known) == ["как", "сменить", "пароль"]


def test_short_latin_words_like_domains_stay_as_typed() -> None:
    assert to_russian_words("сайт gosuslugi.ru", lambda w: w in {"сайт", "кг"}) == ["сайт", "gosuslugi", "ru"]
