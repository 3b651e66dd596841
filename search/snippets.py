"""Highlight snippets computed in Python, usable by any backend.

The trick: ``fold`` is length-preserving on NFC text, so a match found at
offsets [s, e) in the folded text is exactly the characters [s, e) of the
NFC-normalised original. We search the folded text and cut the snippet from
the original, so the clerk sees the document's own diacritics.

Output is safe HTML: matches wrapped in ``<mark>``, everything else escaped
(extracted text can contain anything, including ``<script>``). A phrase match
is one ``<mark>`` (like Elasticsearch's unified highlighter); separate words
get one each.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Sequence

from .folding import fold, nfc
from .query import TOKEN_RE

__all__ = ["SNIPPET_CHARS", "build_highlight", "highlight_text", "highlight_whole", "leading_text", "match_spans"]

SNIPPET_CHARS = 200

_SPACE = re.compile(r"\s")

Span = tuple[int, int, int]  # (start, end, clause index) in NFC-text offsets
Clauses = Sequence[tuple[str, ...]]


def match_spans(folded: str, clauses: Clauses) -> list[Span]:
    """All occurrences of every clause in already-folded text, sorted by start."""
    wanted = {token for clause in clauses for token in clause}
    # Remember only tokens we care about, keyed by their ordinal, so a phrase
    # is "token n, n+1, ... match in order" without keeping the whole token
    # list of a multi-MB document in memory.
    found: dict[int, tuple[int, int, str]] = {}
    for ordinal, match in enumerate(TOKEN_RE.finditer(folded)):
        token = match.group()
        if token in wanted:
            found[ordinal] = (match.start(), match.end(), token)

    spans: list[Span] = []
    for index, clause in enumerate(clauses):
        for ordinal, (start, end, token) in found.items():
            if token != clause[0]:
                continue
            for k in range(1, len(clause)):
                following = found.get(ordinal + k)
                if following is None or following[2] != clause[k]:
                    break
                end = following[1]
            else:
                spans.append((start, end, index))
    spans.sort()
    return spans


def _best_window(spans: list[Span], size: int) -> tuple[int, int]:
    """Indexes [i, j) of the spans forming the best ~size-char window.

    Best = most distinct clauses, then most matches, then earliest. Two-pointer
    sweep, O(n), so a 2 MB document full of matches stays cheap.
    """
    counts: Counter[int] = Counter()
    best: tuple[int, int] = (0, 1)
    best_key: tuple[int, int] = (0, 0)
    j = 0
    for i, (start, _end, clause) in enumerate(spans):
        if j <= i:  # always include span i, even if longer than the window
            counts[clause] += 1
            j = i + 1
        while j < len(spans) and spans[j][1] - start <= size:
            counts[spans[j][2]] += 1
            j += 1
        key = (len(counts), j - i)
        if key > best_key:
            best_key, best = key, (i, j)
        counts[clause] -= 1
        if not counts[clause]:
            del counts[clause]
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
    spans = match_spans(fold(original), clauses)
    if not spans:
        return None
    i, j = _best_window(spans, size)
    cover_end = max(e for _, e, _ in spans[i:j])
    start, end = _window(original, spans[i][0], cover_end, size)
    return _render(original, start, end, spans)


def highlight_whole(text: str, clauses: Clauses) -> str | None:
    """The whole (short) field with matches marked, or None if nothing matches."""
    original = nfc(text)
    spans = match_spans(fold(original), clauses)
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
