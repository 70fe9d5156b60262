"""Cheap text features that complement the sentence embedding: length, code, math, language.

The embedding says what a prompt is about; these say how much of it there is and what kind of
text it is, which a 256-token sentence encoder sees poorly (it truncates, and averages away
digits and symbols). Every value is a plain function of the text, scaled to roughly [0, 1].
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


def cheap_features(text: str) -> npt.NDArray[np.float32]:
    """The features of ``text`` in the order of ``FEATURE_NAMES``."""
    n = len(text)
    if n == 0:
        return np.zeros(FEATURE_COUNT, dtype=np.float32)
    words = len(text.split())
    lines = text.count("\n") + 1
    digits = sum(c.isdigit() for c in text)
    non_ascii = sum(not c.isascii() for c in text)
    code_hits = len(_CODE.findall(text))
    values = (
        math.log1p(n) / 10.0,
        math.log1p(words) / 8.0,
        math.log1p(lines) / 5.0,
        digits / n,
        min(len(_MATH.findall(text)) / max(words, 1), 1.0),
        min(len(_LATEX.findall(text)) / 4.0, 1.0),
        min(code_hits / max(words, 1), 1.0),
        1.0 if _FENCE.search(text) else 0.0,
        non_ascii / n,
        min(text.count("?") / 4.0, 1.0),
        min(len(_CHOICE.findall(text)) / 4.0, 1.0),
        min(len(_NUMBER.findall(text)) / 16.0, 1.0),
    )
    return np.asarray(values, dtype=np.float32)
