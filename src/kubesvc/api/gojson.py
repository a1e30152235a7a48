"""Go's ``encoding/json`` syntax errors, word for word (pure).

kube-apiserver reads a request body's ``apiVersion``/``kind`` with Go's
``json.Unmarshal`` before anything else, so a malformed JSON body is answered
with Go's scanner message inside upstream's wrapper (``handlers/rest.go``
``transformDecodeError``), all on one line::

    the object provided is unrecognized (must be of type ConfigMap): couldn't get
    version/kind; json parse error: unexpected end of JSON input
    ({"apiVersion":"v1","kind":"Con ...)

``syntax_error`` replays Go's scanner (``encoding/json/scanner.go``) over the
bytes and returns its first error, e.g. ``invalid character '}' looking for
beginning of object key string``, or None for valid JSON. ``summarize`` is the
parenthesised excerpt (``summarizeData``: the first 30 bytes, as text when the
body starts with ``{`` and in hex otherwise). ``unrecognized_message`` joins them.
"""

from __future__ import annotations

from collections.abc import Callable

from kubesvc.api.errors import go_quote

SUMMARY_BYTES = 30

_SPACE = b" \t\r\n"
_DIGITS = b"0123456789"
_HEX = b"0123456789abcdefABCDEF"
_ESCAPES = b'bfnrt\\/"'

_OBJECT_KEY, _OBJECT_VALUE, _ARRAY_VALUE = "key", "value", "array"


class _SyntaxError(Exception):
    pass


def quote_char(c: int) -> str:
    """Go's ``quoteChar``: a byte in single quotes, escaped as ``%q`` would."""
    if c == ord("'"):
        return "'\\''"
    if c == ord('"'):
        return "'\"'"
    return "'" + go_quote(chr(c))[1:-1] + "'"


class _Scanner:
    """Go's scanner: one state function per position, a stack of open containers."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.end_top = False
        self.step: Callable[[int], None] = self.begin_value

    def error(self, c: int, context: str) -> None:
        raise _SyntaxError(f"invalid character {quote_char(c)} {context}")

    # -- values ------------------------------------------------------------------
    def begin_value(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord("{"):
            self.stack.append(_OBJECT_KEY)
            self.step = self.begin_string_or_empty
        elif c == ord("["):
            self.stack.append(_ARRAY_VALUE)
            self.step = self.begin_value_or_empty
        elif c == ord('"'):
            self.step = self.in_string
        elif c == ord("-"):
            self.step = self.neg
        elif c == ord("0"):
            self.step = self.zero
        elif ord("1") <= c <= ord("9"):
            self.step = self.one
        elif c == ord("t"):
            self.step = self._literal("true", 1)
        elif c == ord("f"):
            self.step = self._literal("false", 1)
        elif c == ord("n"):
            self.step = self._literal("null", 1)
        else:
            self.error(c, "looking for beginning of value")

    def begin_value_or_empty(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord("]"):
            self.end_value(c)
            return
        self.begin_value(c)

    def begin_string_or_empty(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord("}"):
            self.stack[-1] = _OBJECT_VALUE
            self.end_value(c)
            return
        self.begin_string(c)

    def begin_string(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord('"'):
            self.step = self.in_string
            return
        self.error(c, "looking for beginning of object key string")

    def end_value(self, c: int) -> None:
        if not self.stack:
            self.step = self.end_top_state
            self.end_top = True
            self.end_top_state(c)
            return
        if c in _SPACE:
            self.step = self.end_value
            return
        top = self.stack[-1]
        if top == _OBJECT_KEY:
            if c == ord(":"):
                self.stack[-1] = _OBJECT_VALUE
                self.step = self.begin_value
                return
            self.error(c, "after object key")
        elif top == _OBJECT_VALUE:
            if c == ord(","):
                self.stack[-1] = _OBJECT_KEY
                self.step = self.begin_string
                return
            if c == ord("}"):
                self._pop()
                return
            self.error(c, "after object key:value pair")
        else:
            if c == ord(","):
                self.step = self.begin_value
                return
            if c == ord("]"):
                self._pop()
                return
            self.error(c, "after array element")

    def _pop(self) -> None:
        self.stack.pop()
        if not self.stack:
            self.step = self.end_top_state
            self.end_top = True
        else:
            self.step = self.end_value

    def end_top_state(self, c: int) -> None:
        if c not in _SPACE:
            self.error(c, "after top-level value")

    # -- strings -----------------------------------------------------------------
    def in_string(self, c: int) -> None:
        if c == ord('"'):
            self.step = self.end_value
        elif c == ord("\\"):
            self.step = self.in_string_escape
        elif c < 0x20:
            self.error(c, "in string literal")

    def in_string_escape(self, c: int) -> None:
        if c in _ESCAPES:
            self.step = self.in_string
        elif c == ord("u"):
            self.step = self._hex(4)
        else:
            self.error(c, "in string escape code")

    def _hex(self, left: int) -> Callable[[int], None]:
        def state(c: int) -> None:
            if c not in _HEX:
                self.error(c, "in \\u hexadecimal character escape")
            self.step = self.in_string if left == 1 else self._hex(left - 1)

        return state

    # -- numbers -----------------------------------------------------------------
    def neg(self, c: int) -> None:
        if c == ord("0"):
            self.step = self.zero
        elif ord("1") <= c <= ord("9"):
            self.step = self.one
        else:
            self.error(c, "in numeric literal")

    def one(self, c: int) -> None:
        if c in _DIGITS:
            return
        self.zero(c)

    def zero(self, c: int) -> None:
        if c == ord("."):
            self.step = self.dot
        elif c in b"eE":
            self.step = self.exp
        else:
            self.end_value(c)

    def dot(self, c: int) -> None:
        if c in _DIGITS:
            self.step = self.dot_digits
        else:
            self.error(c, "after decimal point in numeric literal")

    def dot_digits(self, c: int) -> None:
        if c in _DIGITS:
            return
        if c in b"eE":
            self.step = self.exp
            return
        self.end_value(c)

    def exp(self, c: int) -> None:
        if c in b"+-":
            self.step = self.exp_sign
            return
        self.exp_sign(c)

    def exp_sign(self, c: int) -> None:
        if c in _DIGITS:
            self.step = self.exp_digits
        else:
            self.error(c, "in exponent of numeric literal")

    def exp_digits(self, c: int) -> None:
        if c in _DIGITS:
            return
        self.end_value(c)

    # -- literals ----------------------------------------------------------------
    def _literal(self, word: str, at: int) -> Callable[[int], None]:
        def state(c: int) -> None:
            expected = word[at]
            if c != ord(expected):
                self.error(c, f"in literal {word} (expecting {quote_char(ord(expected))})")
            self.step = self.end_value if at + 1 == len(word) else self._literal(word, at + 1)

        return state


def syntax_error(data: bytes) -> str | None:
    """Go's ``json.Unmarshal`` syntax error for ``data``, or None when it is valid JSON."""
    scanner = _Scanner()
    try:
        for c in data:
            scanner.step(c)
        if not scanner.end_top:
            scanner.step(ord(" "))
    except _SyntaxError as exc:
        return str(exc)
    if not scanner.end_top:
        return "unexpected end of JSON input"
    return None


def summarize(data: bytes, max_len: int = SUMMARY_BYTES) -> str:
    """``summarizeData``: an excerpt of a body for error messages."""
    if not data:
        return "<empty>"
    head = data[:max_len]
    more = " ..." if len(data) > max_len else ""
    if data[:1] == b"{":
        return head.decode("utf-8", errors="replace") + more
    return head.hex() + more


def unrecognized_message(kind: str, detail: str, body: bytes) -> str:
    """``transformDecodeError`` when the body's kind could not be read."""
    return (
        f"the object provided is unrecognized (must be of type {kind}): {detail} "
        f"({summarize(body)})"
    )
