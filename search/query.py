"""The one query parser, shared by both backends.

Query language (deliberately small, so both backends can honour it exactly):

* words are AND-ed: every word must occur somewhere in the title, number
  symbol, issuing body or text;
* ``"..."`` is a phrase: its words must be adjacent and in that order;
* a single word that contains punctuation, e.g. ``15/QĐ-UBND`` or ``6.793``,
  is treated as a phrase of its parts ("15 qd ubnd"), because that is how it
  is stored in the index (punctuation separates tokens);
* no operators: OR, NOT, -, *, field:value are ordinary text. Clerks don't
  use them, and not parsing them means user input can never turn into
  Tantivy/Lucene syntax.

Everything is folded with ``search.folding.fold`` so accents and case never
matter. Tokens are maximal runs of letters and digits, the same rule as
the Tantivy backend's analyzer and, thanks to WORD_JOINERS, of the standard
tokenizer in the Elasticsearch template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .folding import fold
from .model import SORTS, InvalidQuery, SearchQuery

__all__ = [
    "MAX_PER_PAGE",
    "MAX_QUERY_CHARS",
    "MAX_RESULT_WINDOW",
    "MAX_TOKEN_CHARS",
    "TOKEN_RE",
    "WORD_JOINERS",
    "ParsedQuery",
    "parse_query",
    "tokenize",
    "validate",
]

MAX_QUERY_CHARS = 500
MAX_PER_PAGE = 100
# Elasticsearch refuses from + size beyond index.max_result_window (10 000);
# Tantivy applies the same limit so the backends agree. Nobody pages that deep.
MAX_RESULT_WINDOW = 10_000
# The ES standard tokenizer cuts words longer than this into pieces (its
# max_token_length) while Tantivy keeps them whole; rejecting such query words
# keeps the backends in agreement. No real word is that long.
MAX_TOKEN_CHARS = 255

# Letters and digits; everything else separates tokens. Applied to folded
# text, in which fold() has already turned the characters that tokenizers
# treat differently (Co, No, stray marks) into spaces; WORD_JOINERS below
# covers the rest of what the ES standard tokenizer does otherwise.
TOKEN_RE = re.compile(r"[^\W_]+")


def _chars(*spans: str | tuple[int, int]) -> frozenset[str]:
    out: set[str] = set()
    for span in spans:
        if isinstance(span, tuple):
            out.update(chr(c) for c in range(span[0], span[1] + 1))
        else:
            out.update(span)
    return frozenset(out)


# Characters that Unicode word segmentation (UAX #29, i.e. the Elasticsearch
# standard tokenizer) keeps *inside* a word, while TOKEN_RE and the Tantivy
# analyzer split there: "TP.HCM", "1.419", "95,07", "a_b", "don't", "title:x", soft
# hyphens from PDF extraction, stray combining marks. The ES template's
# mapping char_filter turns each into a space (one char for one, so highlight
# offsets stay exact), which makes the standard tokenizer split exactly where
# we do. None of them is a token character here, so this changes nothing for
# the Python/Tantivy side.
WORD_JOINERS: frozenset[str] = _chars(
    "'\".:,;_",  # ASCII Single_Quote, Double_Quote, MidNumLet, MidLetter, MidNum, ExtendNumLet
    "\u00b7\u0387\u055f\u05f4\u2027\ufe13\ufe55\uff1a",  # MidLetter
    "\u2018\u2019\u2024\ufe52\uff07\uff0e",  # MidNumLet (curly apostrophes)
    "\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54\uff0c\uff1b",  # MidNum
    "\u202f\u203f\u2040\u2054\ufe33\ufe34\ufe4d\ufe4e\ufe4f\uff3f",  # ExtendNumLet
    "\u00ad\ufeff",  # soft hyphen, BOM (Format)
    (0x200B, 0x200F),  # zero-width space/joiners, direction marks
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x0300, 0x036F),  # combining marks (Extend) used with Latin script
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFE20, 0xFE2F),
)

# Vietnamese keyboards (Unikey autocorrect, macOS, Word) often produce curly
# quotes; treat them as the ASCII quote so "phrases" still work.
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\uff02": '"'})


@dataclass(frozen=True)
class ParsedQuery:
    """AND of clauses; each clause is a sequence of folded tokens that must
    appear adjacent and in order (a single-token clause is a plain term)."""

    clauses: tuple[tuple[str, ...], ...]

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(c[0] for c in self.clauses if len(c) == 1)

    @property
    def phrases(self) -> tuple[tuple[str, ...], ...]:
        return tuple(c for c in self.clauses if len(c) > 1)


def tokenize(text: str) -> list[str]:
    """Fold and split text into index tokens."""
    return TOKEN_RE.findall(fold(text))


def parse_query(text: str) -> ParsedQuery:
    """Parse what the user typed; raise InvalidQuery with a user-facing message."""
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"The search text is too long (more than {MAX_QUERY_CHARS} characters). Please shorten it.")
    text = text.translate(_QUOTES)
    if text.count('"') % 2:
        raise InvalidQuery('The search has an unbalanced quotation mark ("). Close the phrase with a second quote or remove it.')
    if not text.strip():
        raise InvalidQuery("Please type something to search for.")

    clauses: list[tuple[str, ...]] = []
    # split('"') alternates outside/inside quotes because the count is even.
    for position, part in enumerate(text.split('"')):
        inside_quotes = position % 2 == 1
        chunks = [part] if inside_quotes else part.split()
        for chunk in chunks:
            tokens = tuple(tokenize(chunk))
            if tokens and tokens not in clauses:  # repeated words add nothing to an AND
                clauses.append(tokens)

    if not clauses:
        raise InvalidQuery("The search has no letters or digits to look for.")
    for clause in clauses:
        for token in clause:
            if len(token) > MAX_TOKEN_CHARS:
                raise InvalidQuery(f"A word in the search is too long (more than {MAX_TOKEN_CHARS} characters).")
    return ParsedQuery(tuple(clauses))


def validate(query: SearchQuery) -> ParsedQuery:
    """Check paging and parse the text: the common entry point of every backend."""
    parsed = parse_query(query.text)
    # bool is an int subclass; page=True is a bug in the caller, not page 1.
    if not isinstance(query.page, int) or isinstance(query.page, bool) or query.page < 1:
        raise InvalidQuery("The page number must be 1 or more.")
    if (
        not isinstance(query.per_page, int)
        or isinstance(query.per_page, bool)
        or not 1 <= query.per_page <= MAX_PER_PAGE
    ):
        raise InvalidQuery(f"Results per page must be between 1 and {MAX_PER_PAGE}.")
    if query.page * query.per_page > MAX_RESULT_WINDOW:
        raise InvalidQuery(
            f"Only the first {MAX_RESULT_WINDOW} results can be browsed. Please add words or filters to narrow the search."
        )
    _validate_filters(query)
    return parsed


def _validate_filters(query: SearchQuery) -> None:
    if query.sort not in SORTS:
        raise InvalidQuery(f"Unknown sort order {query.sort[:40]!r}; choose one of: {', '.join(SORTS)}.")
    if query.date_from is not None and query.date_to is not None and query.date_from > query.date_to:
        raise InvalidQuery("The start date is after the end date. Please swap them.")
    for value in (query.kind, query.issuing_body, query.doc_type):
        # Bounded before any engine sees it (Elasticsearch refuses terms over
        # 32 KB with a server error); no register field is this long.
        if value is not None and len(value) > MAX_QUERY_CHARS:
            raise InvalidQuery(f"A filter value is too long (more than {MAX_QUERY_CHARS} characters).")
