"""Long text is given to a speech engine in pieces of a few hundred characters, cut where a reader
would pause: clause punctuation first, then sentence marks, dashes and brackets, then words."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlsaudio.speech.engines.base import chunks


def words(text: str) -> list[str]:
    return text.split()


@pytest.mark.parametrize("text", ["Press.", "x" * 80, "Find the point, then press it gently; breathe: now."[:80]])
def test_text_within_the_limit_is_one_piece_unchanged(text):
    assert chunks(text, 80) == [text]


def test_clauses_come_first_and_keep_their_commas():
    text = "Find the point behind your right knee, in the soft hollow between the tendons, and rest your " \
           "thumb there; breathe out slowly: let the leg go heavy."
    pieces = chunks(text, 80)
    assert all(len(p) <= 80 for p in pieces)
    assert len(pieces) > 1 and all(p[-1] in ",;:" for p in pieces[:-1])  # cut after clauses only
    assert " ".join(pieces) == text


def test_the_old_clause_split_is_kept_where_every_clause_fits():
    """Phrases the Piper voice spoke clause by clause before sound the same (their cache keys stay)."""
    def old(text: str, limit: int = 80) -> list[str]:
        if len(text) <= limit:
            return [text]
        merged: list[str] = []
        for part in re.split(r"(?<=[,;:])\s+", text):
            if merged and len(merged[-1]) + 1 + len(part) <= limit:
                merged[-1] += " " + part
            else:
                merged.append(part)
        return merged

    for text in ["Slowly, gently, with your thumb, press the point below the knee, then let go, and rest a while.",
                 "One: two; three, four, five, six, seven, eight, nine, ten, eleven, twelve, thirteen, fourteen."]:
        assert chunks(text, 80) == old(text)


@pytest.mark.parametrize("limit", [40, 80, 300, 400])
@pytest.mark.parametrize("text", [
    "the legs feel calm and heavy and warm as you breathe out slowly " * 80,  # no punctuation at all
    "rest less legs sin drome is a con dish un that makes you want to move your legs " * 60,
    "Breathe in. Breathe out! Again? Yes (slowly) \u2014 and rest \u2013 now. " * 50,
])
def test_long_text_is_cut_at_words_within_the_limit(text, limit):
    pieces = chunks(text, limit)
    assert pieces and all(0 < len(p) <= limit for p in pieces)
    assert words(" ".join(pieces)) == words(text)  # nothing lost, nothing added, no word cut


def test_a_word_longer_than_the_limit_is_cut():
    pieces = chunks("a" * 1000 + " end", 300)
    assert all(len(p) <= 300 for p in pieces) and "".join(pieces).replace(" ", "") == "a" * 1000 + "end"


@given(st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), max_size=3000),
       st.integers(min_value=1, max_value=500))
def test_every_piece_is_within_the_limit_and_the_words_survive(text, limit):
    pieces = chunks(text, limit)
    assert all(0 < len(p) <= limit and p.strip() for p in pieces)
    assert "".join("".join(pieces).split()) == "".join(text.split())
