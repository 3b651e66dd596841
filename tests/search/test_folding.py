"""Vietnamese folding: the one function both backends' matching rests on."""

from __future__ import annotations

import random
import unicodedata

import pytest

from search.folding import FOLDING_TABLE, fold, nfc

# Built independently of search.folding: every Vietnamese vowel (12 of them)
# combined with every tone (none + 5), composed by Unicode itself.
_VOWELS = {"a": "a", "ă": "a", "â": "a", "e": "e", "ê": "e", "i": "i", "o": "o", "ô": "o", "ơ": "o", "u": "u", "ư": "u", "y": "y"}
_TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]  # huyền, sắc, hỏi, ngã, nặng
VIETNAMESE_LETTERS: dict[str, str] = {
    unicodedata.normalize("NFC", vowel + tone): base for vowel, base in _VOWELS.items() for tone in _TONES
}
VIETNAMESE_LETTERS["đ"] = "d"


def test_there_are_72_vowel_forms_plus_d_stroke_and_each_is_one_character() -> None:
    assert len(VIETNAMESE_LETTERS) == 73
    assert all(len(letter) == 1 and len(letter.upper()) == 1 for letter in VIETNAMESE_LETTERS)


@pytest.mark.parametrize(("letter", "base"), sorted(VIETNAMESE_LETTERS.items()))
def test_every_vietnamese_letter_folds_to_its_base_in_both_cases(letter: str, base: str) -> None:
    assert fold(letter) == base
    assert fold(letter.upper()) == base
    # Decomposed input (as extracted from many PDFs) folds the same way.
    assert fold(unicodedata.normalize("NFD", letter.upper())) == base


def test_folding_table_covers_every_accented_letter_in_both_cases() -> None:
    accented = {letter for letter, base in VIETNAMESE_LETTERS.items() if letter != base}
    expected = accented | {letter.upper() for letter in accented}
    assert expected <= FOLDING_TABLE.keys()
    # ...and holds nothing that isn't a single char mapping to a lowercase ASCII letter.
    assert all(len(k) == 1 and len(v) == 1 and v.isascii() and v.islower() for k, v in FOLDING_TABLE.items())
    assert set(FOLDING_TABLE) - expected == {"ð", "Ð"}  # the eth look-alike of đ, folded on purpose


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Quyết định số 15/QĐ-UBND", "quyet dinh so 15/qd-ubnd"),
        ("ỦY BAN NHÂN DÂN TỈNH CÀ MAU", "uy ban nhan dan tinh ca mau"),
        ("Đảng ủy, Hội đồng nhân dân", "dang uy, hoi dong nhan dan"),
        ("Nghị định 61/2018/NĐ-CP", "nghi dinh 61/2018/nd-cp"),
        ("thủ tục hành chính “một cửa”", "thu tuc hanh chinh “mot cua”"),
        ("Résumé Müller", "resume muller"),  # foreign names: same as ES asciifolding
    ],
)
def test_known_phrases_fold_as_a_clerk_would_type_them(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_real_articles_fold_to_plain_ascii_letters(sample_texts: dict[str, str]) -> None:
    for name, text in sample_texts.items():
        folded = fold(text)
        non_ascii_letters = {c for c in folded if c.isalpha() and not c.isascii()}
        assert non_ascii_letters == set(), name
        assert folded == folded.lower()


def _tricky_strings() -> list[str]:
    rng = random.Random(20240301)  # deterministic
    alphabet = (
        "".join(VIETNAMESE_LETTERS)
        + "".join(VIETNAMESE_LETTERS).upper()
        + "abcXYZ 0123 ,.;/-–“”\n\t"
        + "İıßẞﬁǅÅΩ"  # chars whose lower()/decomposition change length
        + "\u0301\u0323\u0300"  # stray combining marks
        + "😀你好"
    )
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(500)]


def test_fold_is_length_preserving_on_nfc_text(sample_texts: dict[str, str]) -> None:
    # This is what lets highlight offsets found in folded text point into the original.
    for text in [*sample_texts.values(), *_tricky_strings()]:
        assert len(fold(text)) == len(nfc(text)), repr(text)


def test_fold_maps_character_by_character(sample_texts: dict[str, str]) -> None:
    for text in list(sample_texts.values())[:1] + _tricky_strings()[:50]:
        normalised = nfc(text)
        assert "".join(fold(c) for c in normalised) == fold(normalised)


def test_fold_is_idempotent(sample_texts: dict[str, str]) -> None:
    for text in [*sample_texts.values(), *_tricky_strings()]:
        once = fold(text)
        assert fold(once) == once, repr(text)


def test_turkish_dotted_i_does_not_grow_or_stay_uppercase() -> None:
    # "İ".lower() is two characters in Python; fold must still give one.
    assert fold("İstanbul") == "istanbul"
