"""Cheap text features that complement the sentence embedding: length, code, math, language.

The embedding says what a prompt is about; these say how much of it there is and what kind of
text it is, which a 256-token sentence encoder sees poorly (it truncates, and averages away
digits and symbols). Every value is a plain function of the text, scaled to roughly [0, 1].

Length is measured so that it reads alike across scripts: Chinese, Japanese and Korean are
written with wide characters and (Chinese, Japanese) without spaces, so a prompt's characters
and space-separated words undercount it several times against English. A wide character counts
as ``WIDE_CHARS`` characters and ``WIDE_WORDS`` of a word (an English word is about 5.7
characters with its space, so three characters are about half a word).
"""

from __future__ import annotations

import math
import re

import numpy as np
import numpy.typing as npt

FEATURE_NAMES = (
    "log_chars",
    "log_words",
    "log_lines",
    "digit_share",
    "math_symbols",
    "latex",
    "code_share",
    "code_fence",
    "non_ascii_share",
    "question_marks",
    "choices",
    "numbers",
)
FEATURE_COUNT = len(FEATURE_NAMES)

_MATH = re.compile(r"[=+\-*/^<>%]|\\times|\\div")
_LATEX = re.compile(r"\\(frac|sqrt|sum|int|cdot|pi|theta|alpha|begin|left|right)|\$[^$]+\$")
_CODE = re.compile(
    r"\b(def|return|class|import|function|var|const|for|while|if|else|elif|print|int|str|"
    r"list|dict|true|false|null|none|self|lambda)\b|[{};]|==|!=|=>|->|\(\)"
)
_FENCE = re.compile(r"```|^\s{4,}\S", re.MULTILINE)
_CHOICE = re.compile(r"(?:^|\s)\(?[A-Ea-e][).:](?=\s)")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
#: East Asian wide and fullwidth characters: Hangul Jamo, CJK radicals to Yi, Hangul syllables,
#: CJK compatibility ideographs, vertical and fullwidth forms, and the CJK extension planes
_WIDE = re.compile(
    "[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f"
    "\uff00-\uff60\uffe0-\uffe6\U00020000-\U0003fffd]"
)
WIDE_CHARS = 3.0
WIDE_WORDS = 0.5


def cheap_features(text: str) -> npt.NDArray[np.float32]:
    """The features of ``text`` in the order of ``FEATURE_NAMES``."""
    n = len(text)
    if n == 0:
        return np.zeros(FEATURE_COUNT, dtype=np.float32)
    words: float = len(text.split())
    lines = text.count("\n") + 1
    questions = text.count("?")
    wide = len(_WIDE.findall(text)) if not text.isascii() else 0
    length = float(n)
    if wide:
        length += (WIDE_CHARS - 1.0) * wide
        words += WIDE_WORDS * wide
        questions += text.count("\uff1f")  # the fullwidth question mark
    digits = sum(c.isdigit() for c in text)
    non_ascii = sum(not c.isascii() for c in text)
    code_hits = len(_CODE.findall(text))
    values = (
        math.log1p(length) / 10.0,
        math.log1p(words) / 8.0,
        math.log1p(lines) / 5.0,
        digits / n,
        min(len(_MATH.findall(text)) / max(words, 1), 1.0),
        min(len(_LATEX.findall(text)) / 4.0, 1.0),
        min(code_hits / max(words, 1), 1.0),
        1.0 if _FENCE.search(text) else 0.0,
        non_ascii / n,
        min(questions / 4.0, 1.0),
        min(len(_CHOICE.findall(text)) / 4.0, 1.0),
        min(len(_NUMBER.findall(text)) / 16.0, 1.0),
    )
    return np.asarray(values, dtype=np.float32)
