"""The ranking rules, written once as a plan every backend executes.

``plan(query)`` turns what the user typed into:

* ``clauses``: the query's words (and quoted phrases), folded. A document
  that holds every clause is in the first tier; one that lacks exactly one
  clause (a word the clerk typed that the document lacks or spells
  otherwise) is in the second tier, ranked after every first-tier document.
  A one-clause query has no second tier.
* ``pairs``: each two words that stand next to each other in the query.
  Vietnamese words are several syllables ("hành chính", "một cửa liên
  thông"); a document where a pair also stands together gains
  ``PROXIMITY_BOOST`` per pair (a phrase match on any searchable field).
* ``exact``: the words the user typed *with* diacritics, lowercased but
  not folded. A document spelling a word exactly so ("đề án", not "đê an")
  gains ``EXACT_BOOST`` per word; this is looked up in each backend's
  unfolded ``exact`` field, tokenised like the folded fields. A query typed
  without diacritics has no exact words, so folded and exact spellings rank
  alike.

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

from .folding import fold, nfc
from .query import TOKEN_RE, ParsedQuery, parse_query

__all__ = ["EXACT_BOOST", "FIELD_WEIGHTS", "PROXIMITY_BOOST", "RankingPlan", "exact_tokens", "plan"]

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

_QUOTED = re.compile(r'"[^"]*"')


@dataclass(frozen=True)
class RankingPlan:
    clauses: tuple[tuple[str, ...], ...]  # the AND of the first tier (search.query)
    pairs: tuple[tuple[str, str], ...]  # adjacent folded query words, each a bonus phrase
    exact: tuple[str, ...]  # query words typed with diacritics, lowercased NFC

    @property
    def relaxed_minimum(self) -> int | None:
        """Clauses a second-tier document must hold (all but one), or None."""
        return len(self.clauses) - 1 if len(self.clauses) > 1 else None


def exact_tokens(text: str) -> list[str]:
    """Tokens of the unfolded ``exact`` field: NFC, lowercased, split like the folded ones."""
    return TOKEN_RE.findall(nfc(text).lower())


def plan(text: str, parsed: ParsedQuery | None = None) -> RankingPlan:
    """The plan for what the user typed (``parsed``: its parse, if already done)."""
    parsed = parsed or parse_query(text)
    return RankingPlan(clauses=parsed.clauses, pairs=_pairs(text, parsed), exact=_exact(text))


def _pairs(text: str, parsed: ParsedQuery) -> tuple[tuple[str, str], ...]:
    # Adjacent words in the order typed, across quotes too, except pairs a
    # quoted phrase already requires to stand together.
    tokens = TOKEN_RE.findall(fold(text.replace('"', " ")))
    inside = {(p[i], p[i + 1]) for p in parsed.phrases for i in range(len(p) - 1)}
    seen: list[tuple[str, str]] = []
    for pair in zip(tokens, tokens[1:]):
        if pair not in inside and pair not in seen and pair[0] != pair[1]:
            seen.append(pair)
    return tuple(seen)


def _exact(text: str) -> tuple[str, ...]:
    words: list[str] = []
    for token in exact_tokens(text):
        if fold(token) != token and token not in words:
            words.append(token)
    return tuple(words)
