"""Highlight snippets computed in Python, usable by any backend.

Matches are found in the NFC-normalised original by patterns that accept
every spelling folding to the query's tokens, and the snippet is cut from
that original, so the clerk sees the document's own diacritics.

Output is safe HTML: matches wrapped in ``<mark>``, everything else escaped
(extracted text can contain anything, including ``<script>``). A phrase match
is one ``<mark>`` (like Elasticsearch's unified highlighter); separate words
get one each.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise
from typing import Any

from .folding import fold, nfc

__all__ = ["SNIPPET_CHARS", "build_highlight", "highlight_text", "highlight_whole", "leading_text", "match_spans"]

SNIPPET_CHARS = 200

_SPACE = re.compile(r"\s")
# One character of a token (search.query.TOKEN_RE is runs of these).
_TOKEN_CHAR = re.compile(r"[^\W_]")

Span = tuple[int, int, int]  # (start, end, clause index) in NFC-text offsets
Clauses = Sequence[tuple[str, ...]]


def match_spans(text: str, clauses: Clauses) -> list[Span]:
    """All occurrences of every clause in NFC text, sorted by start.

    Tokens are found in the text itself by patterns that accept every
    spelling folding to them ("cach" matches "cách", "CÁCH", "cạch"), in one
    C-level scan: folding a whole document and walking all its tokens in
    Python cost about a millisecond per hit. (One difference from the
    folded token stream: a vulgar fraction or superscript digit, which
    folding turns into a space, still joins the word it touches here, so
    such a word is not marked.)
    """
    wanted = {token for clause in clauses for token in clause}
    pattern, tokens = _wanted_pattern(tuple(sorted(wanted)))
    group_of = {token: group for group, token in enumerate(tokens, 1)}
    # Every alternative of the pattern is a group, so a match's lastindex
    # names its token (as a group number: no lookup per match).
    found = [(m.start(), m.end(), m.lastindex) for m in pattern.finditer(text)]
    where: dict[int | None, list[int]] = {}
    for i, (_start, _end, group) in enumerate(found):
        where.setdefault(group, []).append(i)
    spans: list[Span] = []
    neighbour: list[bool] | None = None
    for index, clause in enumerate(clauses):
        if len(clause) == 1:  # most clauses: a word, no neighbours to check
            spans += [(found[i][0], found[i][1], index) for i in where.get(group_of[clause[0]], ())]
            continue
        if neighbour is None:
            # Two wanted tokens are neighbours in the text when no token
            # stands between them, so a phrase is "clause[k] found at i + k,
            # all neighbours".
            neighbour = [False] + [
                _TOKEN_CHAR.search(text, left[1], right[0]) is None for left, right in pairwise(found)
            ]
        groups = [group_of[token] for token in clause]
        for i in where.get(groups[0], ()):
            start, end, _group = found[i]
            for k in range(1, len(clause)):
                if i + k >= len(found) or not neighbour[i + k] or found[i + k][2] != groups[k]:
                    break
                end = found[i + k][1]
            else:
                spans.append((start, end, index))
    spans.sort()
    return spans


@lru_cache(maxsize=256)
def _wanted_pattern(tokens: tuple[str, ...]) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """One pattern finding any of the folded tokens, and the token of each group.

    The tokens are a trie ("c(?:h(?:inh()|uc())|ong())"): at each position
    the engine tries one letter class per letter instead of every token in
    turn, half the time of the plain alternation for a long query's 15
    words. Each token ends in an empty group, so a match's lastindex names
    it; a token that continues into a longer one is tried after it, so no
    token shadows a longer one. The lookarounds make each match a whole
    token, as TOKEN_RE would cut it.
    """
    trie: dict[str, Any] = {}
    for token in tokens:
        node = trie
        for char in token:
            node = node.setdefault(char, {})
        node[""] = token
    ordered: list[str] = []

    def alternatives(node: dict[str, Any]) -> str:
        branches = [_spellings(char) + alternatives(node[char]) for char in sorted(node) if char]
        if "" in node:  # a token ends here: its group, after the longer tokens
            ordered.append(node[""])
            branches.append("()")
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    body = alternatives(trie)
    # The lookahead on the possible first letters comes first: most
    # positions fail it at once, before the costlier lookbehind is tried.
    first = _spellings("".join(sorted(trie)))
    return re.compile(rf"(?={first})(?<![^\W_]){body}(?![^\W_])"), tuple(ordered)


def _spellings(folded_chars: str) -> str:
    """A character class of every character that folds to one of ``folded_chars``."""
    variants = set().union(*(_UNFOLD.get(char, {char}) for char in folded_chars))
    return "[" + "".join(re.escape(c) for c in sorted(variants)) + "]"


def _unfold_table() -> dict[str, set[str]]:
    # Every letter of the Latin blocks (where Vietnamese and the foreign
    # names in administrative texts live) by what it folds to.
    table: dict[str, set[str]] = {}
    for codepoint in (*range(0x20, 0x250), *range(0x1E00, 0x1F00)):
        char = chr(codepoint)
        folded = fold(char)
        if len(folded) == 1 and folded != " ":
            table.setdefault(folded, {folded}).add(char)
    return table


_UNFOLD = _unfold_table()


def _best_window(spans: list[Span], size: int) -> tuple[int, int]:
    """Indexes [i, j) of the spans forming the best ~size-char window.

    Best = most distinct clauses, then most matches, then earliest. Two-pointer
    sweep, O(n), so a 2 MB document full of matches stays cheap.
    """
    # Plain lists and a running number of distinct clauses: this sweep runs
    # over every match of every hit (hundreds for a long query's page).
    counts = [0] * (max(clause for _start, _end, clause in spans) + 1)
    distinct = 0
    best: tuple[int, int] = (0, 1)
    best_key: tuple[int, int] = (0, 0)
    j = 0
    for i, (start, _end, clause) in enumerate(spans):
        if j <= i:  # always include span i, even if longer than the window
            if not counts[clause]:
                distinct += 1
            counts[clause] += 1
            j = i + 1
        limit = start + size
        while j < len(spans) and spans[j][1] <= limit:
            added = spans[j][2]
            if not counts[added]:
                distinct += 1
            counts[added] += 1
            j += 1
        if (distinct, j - i) > best_key:
            best_key, best = (distinct, j - i), (i, j)
        counts[clause] -= 1
        if not counts[clause]:
            distinct -= 1
    return best


def _window(text: str, cover_start: int, cover_end: int, size: int) -> tuple[int, int]:
    """A ~size-char window containing [cover_start, cover_end), cut at spaces."""
    slack = max(0, size - (cover_end - cover_start))
    start = max(0, cover_start - slack // 3)  # some context before, more after
    end = min(len(text), max(cover_end, start + size))
    if end - start < size:  # near the end of the text: use the slack before
        start = max(0, min(cover_start, end - size))
    if start > 0 and not text[start - 1].isspace():
        space = _SPACE.search(text, start, cover_start)
        start = space.end() if space else cover_start
    if end < len(text) and not text[end].isspace():
        cut = end
        while cut > cover_end and not text[cut - 1].isspace():
            cut -= 1
        end = cut if cut > cover_end else cover_end
    return start, end


def _render(text: str, start: int, end: int, spans: list[Span]) -> str:
    """Escape text[start:end] and wrap the spans lying inside it in <mark>."""
    merged: list[list[int]] = []
    for s, e, _ in spans:
        if s < start or e > end:
            continue
        if merged and s < merged[-1][1]:  # a word that is also part of a phrase
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    pieces: list[str] = []
    position = start
    for s, e in merged:
        pieces.append(html.escape(text[position:s]))
        pieces.append("<mark>" + html.escape(text[s:e]) + "</mark>")
        position = e
    pieces.append(html.escape(text[position:end]))
    return "".join(pieces).strip()


def highlight_text(text: str, clauses: Clauses, size: int = SNIPPET_CHARS) -> str | None:
    """Snippet of ~size chars around the best match, or None if nothing matches."""
    original = nfc(text)
    spans = match_spans(original, clauses)
    if not spans:
        return None
    i, j = _best_window(spans, size)
    cover_end = max(e for _, e, _ in spans[i:j])
    start, end = _window(original, spans[i][0], cover_end, size)
    return _render(original, start, end, spans)


def highlight_whole(text: str, clauses: Clauses) -> str | None:
    """The whole (short) field with matches marked, or None if nothing matches."""
    original = nfc(text)
    spans = match_spans(original, clauses)
    if not spans:
        return None
    return _render(original, 0, len(original), spans)


def leading_text(text: str, size: int = SNIPPET_CHARS) -> str:
    """The start of the text (escaped), cut at a space: the no-match fallback."""
    original = nfc(text)
    if len(original) <= size:
        return html.escape(original.strip())
    end = size
    while end > 0 and not original[end].isspace():
        end -= 1
    return html.escape(original[: end or size].strip())


def build_highlight(title: str, text: str, clauses: Clauses, size: int = SNIPPET_CHARS) -> str:
    """The SearchHit.highlight rule: text snippet, else title marked, else start of text."""
    return (
        highlight_text(text, clauses, size)
        or highlight_whole(title, clauses)
        or leading_text(text, size)
        or html.escape(nfc(title))
    )
