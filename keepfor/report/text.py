"""Text from records made safe to print on a terminal.

Record keys, categories and the like come from someone else's database: a key may hold
``ESC [ 2 J`` (clear the screen), ``ESC ] 0 ; ... BEL`` (retitle the window), other C0
and C1 control characters, or a bidi override (U+202E) that makes a line read backwards.
:func:`printable` shows each of them as a visible escape instead.
"""

from __future__ import annotations

__all__ = ["printable"]


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on, rather than show, escaped.

    Escaped are the characters :meth:`str.isprintable` rejects: C0 and C1 controls and
    DEL (``\\x1b``, ``\\n``, ``\\x9b``), format characters such as bidi overrides and
    isolates (``\\u202e``, ``\\u2066``) and zero-width characters, line and paragraph
    separators, spaces other than the ASCII space, surrogates, private-use and
    unassigned code points. Each is written as Python writes it in a string literal.
    Text with nothing to escape comes back unchanged; text with something to escape
    also has its backslashes doubled, so the escaped form reads one way only (like
    ``repr``, without the quotes).
    """
    if text.isprintable():
        return text
    return "".join(_escape(char) for char in text)


def _escape(char: str) -> str:
    if char == "\\":
        return "\\\\"
    if char.isprintable():
        return char
    return repr(char)[1:-1]  # repr escapes exactly the characters isprintable() rejects
