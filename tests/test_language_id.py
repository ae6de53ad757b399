"""The query-language guesser: scripts one language writes, words of training captions, honest 'not identified'."""
from core.records import Record
from search.language_id import LanguageGuesser


def rec(language: str, caption: str, split: str = "train") -> Record:
    return Record(image="x.png", concept="emoji:1F431", kind="emoji", language=language, caption=caption, split=split)


RECORDS = [rec("th", "แมว"), rec("th", "หน้าแมว"), rec("ru", "кошка"), rec("ru", "собака"), rec("uk", "собака"),
           rec("es", "perro"), rec("es", "gato"), rec("pt", "gato"), rec("en", "cat"), rec("en", "dog face"),
           rec("ja", "ねこ"), rec("ja", "犬"), rec("zh", "狗"), rec("zh", "小狗"),
           rec("es", "secretword", split="test"), rec("de", "Geheimwort", split="val")]


def test_a_script_only_one_language_writes_names_it():
    g = LanguageGuesser(RECORDS)
    assert g.guess("แมวดำ").languages == ("th",) and g.guess("แมวดำ").how == "script"
    assert g.guess("ねこがいる").describe() == "Japanese (ja), from its script (Han/Kana)"


def test_shared_scripts_are_told_apart_by_words_and_ties_are_all_named():
    g = LanguageGuesser(RECORDS)
    assert g.guess("Perro").languages == ("es",)  # case-folded
    assert g.guess("собака").languages == ("ru", "uk") and g.guess("собака").language is None
    assert g.guess("gato").describe() == "one of Spanish (es), Portuguese (pt), from its words"  # codes in order
    assert g.guess("小狗").languages == ("zh",)  # unspaced scripts: found inside captions
    assert g.guess("犬").languages == ("ja",)


def test_only_training_captions_are_read_and_unknown_words_are_not_guessed():
    g = LanguageGuesser(RECORDS)
    for query in ("secretword", "Geheimwort", "zyxw"):
        guess = g.guess(query)
        assert guess.languages == () and guess.describe() == "Latin script; language not identified"


def test_a_word_of_many_languages_is_said_to_be_one():
    g = LanguageGuesser([rec(lang, "pizza") for lang in ("af", "de", "en", "es", "it")], max_candidates=3)
    guess = g.guess("pizza")
    assert guess.describe() == "a word of 5 languages (e.g. Afrikaans (af), German (de), English (en))"
