"""Folding text for people search: no accents, no case, letters Unicode does not decompose."""

from __future__ import annotations

import pytest

from app.fields import fold, search_key


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Ígor", "igor"),
        ("ZOË", "zoe"),
        ("Łukasz Ørsted", "lukasz orsted"),
        ("Straße", "strasse"),
        ("Æsa Œuvre Þór", "aesa oeuvre thor"),
        ("Iñaki Écija", "inaki ecija"),
        ("ﬁle", "file"),  # compatibility ligature
        ("", ""),
        (None, ""),
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded


def test_the_search_key_keeps_fields_apart_and_skips_blanks():
    assert search_key("Zoë Åberg", "Zoe@Example.test", None) == "zoe aberg\nzoe@example.test"
    assert "\n" not in fold("a b")
