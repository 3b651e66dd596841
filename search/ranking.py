"""The ranking rules, written once as a plan every backend executes.

``plan(query)`` turns what the user typed into:

* ``clauses``: the query's words (and quoted phrases), folded. A document
  that holds every clause is in the first tier. The second tier, ranked
  after every first-tier document, holds those that lack some: one clause
  of a query of two to four (a word the clerk typed that the document
  lacks or spells otherwise; four syllables are two Vietnamese words, and
  one of two would flood the tier), up to half of a longer one (a long
  query describes the document in the clerk's own words: measured on
  bench/relevance, all but one everywhere gave nDCG@10 0.890 and
  recall@10 0.790, half from four clauses 0.922 and 0.863, half from five
  0.919 and 0.855). A one-clause query has no second tier.
* ``pairs``: each two words that stand next to each other in the query.
  Vietnamese words are several syllables ("hành chính", "một cửa liên
  thông"); a document where a pair also stands together gains
  ``PROXIMITY_BOOST`` per pair (a phrase match on any searchable field).
* ``exact``: the words the user typed *with* diacritics, lowercased but
  not folded, that no exact pair (below) carries: in practice the word of
  a one-word query ("bán", not "bạn"). A document spelling such a word
  exactly so gains ``EXACT_BOOST``; this is looked up in each backend's
  unfolded ``exact`` field, tokenised like the folded fields. A query typed
  without diacritics has no exact words, so folded and exact spellings rank
  alike.
* ``exact_pairs``: each two adjacent words as typed, at least one of them
  with diacritics. A document where they stand together spelt so gains
  ``EXACT_PAIR_BOOST``: "khai tử" (death registration) above "triển khai
  từ năm 2016", whose folded pair is the same "khai tu", and "đề án" above
  "đê an". Looked up as one term of each backend's unfolded pair field. A
  word in such a pair gets no word bonus of its own: the pair spelt as
  typed is the evidence a clerk means (on bench/relevance the word bonus
  beside the pairs changed little, nDCG@10 0.920 with it, 0.922 without),
  and each bonus is a term every document of the tier is checked against.
* At most ``MAX_PAIRS`` pairs of each kind carry a bonus, those of the
  first words typed: a long query (15-20 words) describes a document in
  the clerk's own words, whose tiers already ask for every word or half of
  them, and each pair more is a term every document of the tier is checked
  against (at 100,000 documents the bonuses were 4-5 ms of a long query's
  20-25 ms of CPU). On bench/relevance: 6 pairs 0.918, 8 0.920, 10 0.922,
  12 0.919, no bound 0.920; at 8 an 11-word query lost the pair of its
  commune's name, the last two words.

A clause match counts ``FIELD_WEIGHTS[field]`` times in the backend's BM25:
what clerks remember (title, number and symbol, issuing body) counts more
than the body. Within a tier and an equal score, the newest document
(``created_at``) comes first, then the smallest id, so paging is stable.

The boosts are tuned on bench/relevance (nDCG@10); tests/search hold both
backends to the order each rule decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from .folding import fold, nfc
from .query import TOKEN_RE, ParsedQuery, parse_query

__all__ = [
    "EXACT_BOOST",
    "EXACT_PAIR_BOOST",
    "EXACT_WORDS_IN_PAIRS",
    "FIELD_WEIGHTS",
    "MAX_PAIRS",
    "PROXIMITY_BOOST",
    "RankingPlan",
    "exact_tokens",
    "plan",
    "relaxed_minimum",
]

# Relevance weight of each searchable field (BM25 field boosts).
FIELD_WEIGHTS: dict[str, float] = {
    "title": 3.0,
    "number_symbol": 3.0,
    "issuing_body": 2.0,
    "text": 1.0,
}
# Constants per pair and per word, tuned on bench/relevance: at 1.0 they were
# small beside BM25 on a title word at weight 3 and changed almost nothing
# (nDCG@10 0.860 on Tantivy); at 10 a document where the query's pairs stand
# together, or which spells the words as typed, wins (0.882). The ambiguous
# folds (ban/bán/bạn, đề án/đê an) gain most: 0.796 -> 0.895.
PROXIMITY_BOOST = 10.0
EXACT_BOOST = 10.0
# A pair spelt as typed is two words of evidence where a folded pair may be
# chance ("triển khai từ" for "khai tử"). On bench/relevance, nDCG@10 is
# 0.910 without it and 0.919 at 20; at 10 it added nothing, 15 to 30 alike.
EXACT_PAIR_BOOST = 20.0
# Pairs (folded, and as typed) that carry a bonus, the first of the query's.
MAX_PAIRS: int | None = 10
# Whether a word an exact pair carries also gains EXACT_BOOST (the rule
# before the pairs carried it): bench/relevance and bench/search compare.
EXACT_WORDS_IN_PAIRS = False

_QUOTED = re.compile(r'"[^"]*"')


@dataclass(frozen=True)
class RankingPlan:
    clauses: tuple[tuple[str, ...], ...]  # the AND of the first tier (search.query)
    pairs: tuple[tuple[str, str], ...]  # adjacent folded query words, each a bonus phrase
    exact: tuple[str, ...]  # query words typed with diacritics, lowercased NFC
    exact_pairs: tuple[tuple[str, str], ...] = ()  # adjacent words as typed, one at least with diacritics

    @property
    def relaxed_minimum(self) -> int | None:
        """Clauses a second-tier document must hold, or None: no second tier."""
        return relaxed_minimum(len(self.clauses))


def relaxed_minimum(clauses: int) -> int | None:
    """All but one of two to four clauses; at least half (rounded up) of five or more."""
    if clauses < 2:
        return None
    return clauses - 1 if clauses <= 4 else -(-clauses // 2)


def exact_tokens(text: str) -> list[str]:
    """Tokens of the unfolded ``exact`` field: NFC, lowercased, split like the folded ones."""
    return TOKEN_RE.findall(nfc(text).lower())


def plan(text: str, parsed: ParsedQuery | None = None) -> RankingPlan:
    """The plan for what the user typed (``parsed``: its parse, if already done)."""
    parsed = parsed or parse_query(text)
    exact_pairs = _exact_pairs(text)
    return RankingPlan(clauses=parsed.clauses, pairs=_pairs(text, parsed)[:MAX_PAIRS],
                       exact=_exact(text, () if EXACT_WORDS_IN_PAIRS else exact_pairs),
                       exact_pairs=exact_pairs[:MAX_PAIRS])


def _pairs(text: str, parsed: ParsedQuery) -> tuple[tuple[str, str], ...]:
    # Adjacent words in the order typed, across quotes too, except pairs a
    # quoted phrase already requires to stand together.
    tokens = TOKEN_RE.findall(fold(text.replace('"', " ")))
    inside = {(p[i], p[i + 1]) for p in parsed.phrases for i in range(len(p) - 1)}
    seen: list[tuple[str, str]] = []
    for pair in pairwise(tokens):
        if pair not in inside and pair not in seen and pair[0] != pair[1]:
            seen.append(pair)
    return tuple(seen)


def _exact(text: str, carried: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    # Words in ``carried`` (the exact pairs, before MAX_PAIRS) have their bonus there.
    in_pairs = {word for pair in carried for word in pair}
    words: list[str] = []
    for token in exact_tokens(text):
        if fold(token) != token and token not in words and token not in in_pairs:
            words.append(token)
    return tuple(words)


def _exact_pairs(text: str) -> tuple[tuple[str, str], ...]:
    # Inside quotes too: a quoted phrase requires its words together folded,
    # not spelt as typed.
    tokens = exact_tokens(text.replace('"', " "))
    seen: list[tuple[str, str]] = []
    for pair in pairwise(tokens):
        accented = any(fold(word) != word for word in pair)
        if accented and pair not in seen and pair[0] != pair[1]:
            seen.append(pair)
    return tuple(seen)
