"""Label and field selectors: parsing, matching and rendering as apimachinery does.

Label selectors (``labelSelector=`` query parameter, ``spec.selector`` of
workloads and Services) follow ``k8s.io/apimachinery/pkg/labels``:

* ``parse_label_selector(text)`` is ``labels.Parse``: a hand-written lexer and
  recursive-descent parser for ``key``, ``!key``, ``key=v``, ``key==v``,
  ``key!=v``, ``key in (a,b)``, ``key notin (a,b)``, ``key>N``, ``key<N``,
  comma-separated (AND), whitespace as delimiter. Requirements come out sorted
  by key, so ``str()`` of a selector is canonical.
* ``from_label_selector(obj)`` is ``metav1.LabelSelectorAsSelector`` for the
  structured form (``matchLabels`` + ``matchExpressions``); a plain map (the
  Service / ReplicationController form) goes through ``from_set``.
* ``Selector.matches(labels)``: ``notin`` and ``!=`` also match objects that do
  not have the key; ``>``/``<`` compare base-10 int64 values.

Field selectors (``fieldSelector=``) follow ``k8s.io/apimachinery/pkg/fields``:
only ``=``, ``==`` and ``!=``, comma-AND, with ``\\,``, ``\\=`` and ``\\\\``
escapes in values. ``check_supported`` applies a resource's list of selectable
fields with the server's messages.

Errors carry the exact upstream text (``unable to parse requirement: ...``) and
are ``BadRequest`` Status errors, so the API server can let them propagate; they
are also ``ValueError`` for callers that treat a selector as plain data.

Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubesvc.api.errors import BadRequest, FieldError, go_quote, invalid
from kubesvc.api.validation.names import is_qualified_name, is_valid_label_value

# selection.Operator values, as apimachinery spells them.
DOES_NOT_EXIST = "!"
EQUALS = "="
DOUBLE_EQUALS = "=="
IN = "in"
NOT_EQUALS = "!="
NOT_IN = "notin"
EXISTS = "exists"
GREATER_THAN = "gt"
LESS_THAN = "lt"

_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)
_VALID_OPERATORS = (*_BINARY_OPERATORS, EXISTS, DOES_NOT_EXIST)

_INT64 = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class SelectorError(BadRequest, ValueError):
    """A selector that does not parse or validate; the message is upstream's."""


def _parse_int64(text: str) -> int | None:
    """``strconv.ParseInt(text, 10, 64)``; None where Go returns an error."""
    if not _INT64.fullmatch(text):
        return None
    value = int(text)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _aggregate(errors: list[FieldError]) -> str:
    """``field.ErrorList.ToAggregate().Error()``: one message, or ``[a, b]`` de-duplicated."""
    msgs = list(dict.fromkeys(e.error() for e in errors))
    return msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"


# ---------------------------------------------------------------------------
# requirements and selectors


@dataclass(frozen=True, slots=True)
class Requirement:
    """One ``key <operator> values`` term of a label selector (``labels.Requirement``)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            if self.key not in labels or len(self.values) != 1:
                return False
            have = _parse_int64(labels[self.key])
            want = _parse_int64(self.values[0])
            if have is None or want is None:
                return False
            return have > want if op == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        symbol = {
            EQUALS: "=",
            DOUBLE_EQUALS: "==",
            NOT_EQUALS: "!=",
            IN: " in ",
            NOT_IN: " notin ",
            GREATER_THAN: ">",
            LESS_THAN: "<",
        }[op]
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if op in (IN, NOT_IN):
            values = f"({values})"
        return f"{self.key}{symbol}{values}"


def new_requirement(key: str, operator: str, values: Iterable[str] = ()) -> Requirement:
    """``labels.NewRequirement``: validate and build one requirement.

    Raises ``SelectorError`` whose text is the aggregated field errors, with the
    paths upstream uses when no base path is given (``key``, ``values[0]``,
    ``values[0][<key>]``).
    """
    vals = tuple(values)
    errs: list[FieldError] = []
    key_msgs = is_qualified_name(key)
    if key_msgs:
        errs.append(invalid("key", key, "; ".join(key_msgs)))
    if operator in (IN, NOT_IN):
        if not vals:
            errs.append(
                invalid(
                    "values", list(vals), "for 'in', 'notin' operators, values set can't be empty"
                )
            )
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(vals) != 1:
            errs.append(
                invalid("values", list(vals), "exact-match compatibility requires one single value")
            )
    elif operator in (EXISTS, DOES_NOT_EXIST):
        if vals:
            errs.append(
                invalid(
                    "values", list(vals), "values set must be empty for exists and does not exist"
                )
            )
    elif operator in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            errs.append(
                invalid(
                    "values", list(vals), "for 'Gt', 'Lt' operators, exactly one value is required"
                )
            )
        for i, v in enumerate(vals):
            if _parse_int64(v) is None:
                errs.append(
                    invalid(
                        f"values[{i}]", v, "for 'Gt', 'Lt' operators, the value must be an integer"
                    )
                )
    else:
        errs.append(FieldError("NotSupported", "operator", operator, supported=_VALID_OPERATORS))
    for i, v in enumerate(vals):
        value_msgs = is_valid_label_value(v)
        if value_msgs:
            errs.append(invalid(f"values[{i}][{key}]", v, "; ".join(value_msgs)))
    if errs:
        raise SelectorError(_aggregate(errs))
    return Requirement(key, operator, vals)


@dataclass(frozen=True, slots=True)
class Selector:
    """A label selector: the AND of its requirements, kept sorted by key.

    ``nothing`` is the selector of an absent ``LabelSelector`` (``labels.Nothing``):
    it matches no object and renders as ``""``.
    """

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        have = labels or {}
        return all(r.matches(have) for r in self.requirements)

    def empty(self) -> bool:
        """True when the selector does not restrict anything (``Everything``)."""
        return not self.nothing and not self.requirements

    def requires_exact_match(self, key: str) -> str | None:
        """The single value ``key`` must have (``=``, ``==`` or one-value ``in``), if any."""
        for r in self.requirements:
            if r.key == key:
                if r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1:
                    return r.values[0]
                return None
        return None

    def add(self, *reqs: Requirement) -> Selector:
        return Selector(_sorted_by_key((*self.requirements, *reqs)), self.nothing)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = Selector()
NOTHING = Selector(nothing=True)


def _sorted_by_key(reqs: Iterable[Requirement]) -> tuple[Requirement, ...]:
    return tuple(sorted(reqs, key=lambda r: r.key))


def from_set(labels: Mapping[str, str] | None) -> Selector:
    """``labels.SelectorFromSet``: exact match on every pair; empty or None selects everything.

    Like upstream this does not validate the keys and values.
    """
    if not labels:
        return EVERYTHING
    return Selector(_sorted_by_key(Requirement(k, EQUALS, (v,)) for k, v in labels.items()))


def format_labels(labels: Mapping[str, str] | None) -> str:
    """``labels.FormatLabels``: ``k=v,...`` sorted by key, or ``<none>``."""
    pairs = labels or {}
    return ",".join(f"{k}={pairs[k]}" for k in sorted(pairs)) or "<none>"


def _looks_structured(obj: Mapping[str, Any]) -> bool:
    return all(
        k in ("matchLabels", "matchExpressions") and (v is None or isinstance(v, (dict, list)))
        for k, v in obj.items()
    )


def from_label_selector(obj: Mapping[str, Any] | None) -> Selector:
    """``metav1.LabelSelectorAsSelector`` (or ``from_set`` for a plain label map).

    * ``None`` (no selector) selects nothing; ``{}`` selects everything.
    * ``matchLabels`` pairs become ``=`` requirements, ``matchExpressions`` with
      ``In``/``NotIn``/``Exists``/``DoesNotExist`` become ``in``/``notin``/key/``!key``;
      every requirement is validated (``SelectorError`` with upstream's text, e.g.
      ``"Foo" is not a valid label selector operator``).
    * A mapping whose keys are not only ``matchLabels``/``matchExpressions`` is
      taken as the map form of Services and ReplicationControllers.
    """
    if obj is None:
        return NOTHING
    if not _looks_structured(obj):
        return from_set({str(k): str(v) for k, v in obj.items()})
    match_labels: Mapping[str, Any] = obj.get("matchLabels") or {}
    expressions: list[Any] = obj.get("matchExpressions") or []
    if not match_labels and not expressions:
        return EVERYTHING
    reqs = [new_requirement(str(k), EQUALS, [str(v)]) for k, v in match_labels.items()]
    ops = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}
    for expr in expressions:
        expr = expr or {}
        op_name = expr.get("operator", "")
        if op_name not in ops:
            raise SelectorError(f"{go_quote(str(op_name))} is not a valid label selector operator")
        values = [str(v) for v in (expr.get("values") or [])]
        reqs.append(new_requirement(str(expr.get("key", "")), ops[op_name], values))
    return Selector(_sorted_by_key(reqs))


def format_label_selector(obj: Mapping[str, Any] | None) -> str:
    """``metav1.FormatLabelSelector``: the text; ``<none>`` if empty, ``<error>`` if invalid."""
    try:
        text = str(from_label_selector(obj))
    except SelectorError:
        return "<error>"
    return text or "<none>"


# ---------------------------------------------------------------------------
# label selector parser (labels.Parse)

_ERROR, _EOS, _CLOSE, _COMMA, _NOT, _DEQ, _EQ, _GT, _ID, _IN, _LT, _NEQ, _NOTIN, _OPEN = range(14)

_STRING_TO_TOKEN = {
    ")": _CLOSE,
    ",": _COMMA,
    "!": _NOT,
    "==": _DEQ,
    "=": _EQ,
    ">": _GT,
    "in": _IN,
    "<": _LT,
    "!=": _NEQ,
    "notin": _NOTIN,
    "(": _OPEN,
}
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")


class _Lexer:
    """apimachinery's ``Lexer``, read/unread and all.

    Go reads bytes and ``read`` yields 0 both at the end and for a NUL byte, which
    the lexer then treats as the end of a token (or of the input).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def read(self) -> str:
        if self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            return ch
        return "\x00"

    def unread(self) -> None:
        self.pos -= 1

    def scan_id_or_keyword(self) -> tuple[int, str]:
        buf: list[str] = []
        while True:
            ch = self.read()
            if ch == "\x00":
                break
            if ch in _SPECIAL or ch in _WHITESPACE:
                self.unread()
                break
            buf.append(ch)
        word = "".join(buf)
        return _STRING_TO_TOKEN.get(word, _ID), word

    def scan_special_symbol(self) -> tuple[int, str]:
        last: tuple[int, str] | None = None
        buf = ""
        while True:
            ch = self.read()
            if ch == "\x00":
                break
            if ch in _SPECIAL:
                buf += ch
                if buf in _STRING_TO_TOKEN:
                    last = (_STRING_TO_TOKEN[buf], buf)
                elif last is not None:
                    self.unread()
                    break
            else:
                self.unread()
                break
        if last is None:  # unreachable: every special symbol alone is a token
            return _ERROR, f"error expected: keyword found '{buf}'"
        return last

    def lex(self) -> tuple[int, str]:
        ch = self.read()
        while ch in _WHITESPACE:
            ch = self.read()
        if ch == "\x00":
            return _EOS, ""
        self.unread()
        if ch in _SPECIAL:
            return self.scan_special_symbol()
        return self.scan_id_or_keyword()


def _lex(text: str) -> list[tuple[int, str]]:
    """All tokens of ``text``, ending with the end-of-string token."""
    lexer = _Lexer(text)
    items: list[tuple[int, str]] = []
    while True:
        item = lexer.lex()
        items.append(item)
        if item[0] == _EOS:
            return items


class _Parser:
    """``labels.Parser``: lookahead/consume over the scanned tokens, with contexts."""

    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    def _token(self, index: int, values_context: bool) -> tuple[int, str]:
        tok, lit = self.items[min(index, len(self.items) - 1)]
        if values_context and tok in (_IN, _NOTIN):
            tok = _ID
        return tok, lit

    def lookahead(self, values_context: bool = True) -> tuple[int, str]:
        return self._token(self.pos, values_context)

    def consume(self, values_context: bool = True) -> tuple[int, str]:
        self.pos += 1
        return self._token(self.pos - 1, values_context)

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.lookahead()
            if tok in (_ID, _NOT):
                try:
                    reqs.append(self.parse_requirement())
                except SelectorError as exc:
                    raise SelectorError(f"unable to parse requirement: {exc.message}") from None
                t, lit2 = self.consume()
                if t == _EOS:
                    return reqs
                if t == _COMMA:
                    t2, l2 = self.lookahead()
                    if t2 not in (_ID, _NOT):
                        raise SelectorError(f"found '{l2}', expected: identifier after ','")
                else:
                    raise SelectorError(f"found '{lit2}', expected: ',' or 'end of string'")
            elif tok == _EOS:
                return reqs
            else:
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def parse_requirement(self) -> Requirement:
        key, operator = self.parse_key_and_infer_operator()
        if operator in (EXISTS, DOES_NOT_EXIST):
            return new_requirement(key, operator, ())
        operator = self.parse_operator()
        values = self.parse_values() if operator in (IN, NOT_IN) else self.parse_exact_value()
        return new_requirement(key, operator, sorted(values))

    def parse_key_and_infer_operator(self) -> tuple[str, str]:
        operator = ""
        tok, lit = self.consume()
        if tok == _NOT:
            operator = DOES_NOT_EXIST
            tok, lit = self.consume()
        if tok != _ID:
            raise SelectorError(f"found '{lit}', expected: identifier")
        msgs = is_qualified_name(lit)
        if msgs:
            raise SelectorError(invalid("<nil>", lit, "; ".join(msgs)).error())
        if self.lookahead()[0] in (_EOS, _COMMA) and operator != DOES_NOT_EXIST:
            operator = EXISTS
        return lit, operator

    def parse_operator(self) -> str:
        tok, lit = self.consume(values_context=False)
        ops = {
            _IN: IN,
            _EQ: EQUALS,
            _DEQ: DOUBLE_EQUALS,
            _GT: GREATER_THAN,
            _LT: LESS_THAN,
            _NOTIN: NOT_IN,
            _NEQ: NOT_EQUALS,
        }
        if tok not in ops:
            raise SelectorError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
        return ops[tok]

    def parse_values(self) -> set[str]:
        tok, lit = self.consume()
        if tok != _OPEN:
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead()
        if tok in (_ID, _COMMA):
            values = self.parse_identifiers_list()
            if self.consume()[0] != _CLOSE:
                # upstream reports the token seen right after '(' here
                raise SelectorError(f"found '{lit}', expected: ')'")
            return values
        if tok == _CLOSE:
            self.consume()
            return {""}
        raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")

    def parse_identifiers_list(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self.consume()
            if tok == _ID:
                values.add(lit)
                tok2, lit2 = self.lookahead()
                if tok2 == _COMMA:
                    continue
                if tok2 == _CLOSE:
                    return values
                raise SelectorError(f"found '{lit2}', expected: ',' or ')'")
            if tok == _COMMA:
                if not values:
                    values.add("")  # "(,"
                tok2, _ = self.lookahead()
                if tok2 == _CLOSE:
                    values.add("")  # ",)"
                    return values
                if tok2 == _COMMA:
                    self.consume()
                    values.add("")  # ",,"
                continue
            raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def parse_exact_value(self) -> set[str]:
        tok, _ = self.lookahead()
        if tok in (_EOS, _COMMA):
            return {""}
        tok, lit = self.consume()
        if tok == _ID:
            return {lit}
        raise SelectorError(f"found '{lit}', expected: identifier")


def parse_label_selector(text: str) -> Selector:
    """``labels.Parse``: the selector of a ``labelSelector`` string.

    Raises ``SelectorError`` with upstream's message, e.g.
    ``unable to parse requirement: <nil>: Invalid value: "app:x": name part must ...``.
    """
    return Selector(_sorted_by_key(_Parser(text).parse()))


# ---------------------------------------------------------------------------
# field selectors (fields.ParseSelector)


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    """One ``field=value`` (operator ``=``) or ``field!=value`` (``!=``) term."""

    field: str
    operator: str
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        have = fields.get(self.field, "")
        return have == self.value if self.operator == EQUALS else have != self.value

    def __str__(self) -> str:
        op = "=" if self.operator == EQUALS else "!="
        return f"{self.field}{op}{escape_field_value(self.value)}"


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A field selector: the AND of its terms (``fields.Selector``)."""

    terms: tuple[FieldRequirement, ...] = ()

    def matches(self, fields: Mapping[str, str]) -> bool:
        """A missing field reads as ``""``, as ``fields.Set.Get`` does."""
        return all(t.matches(fields) for t in self.terms)

    def empty(self) -> bool:
        return not self.terms

    def requirements(self) -> tuple[FieldRequirement, ...]:
        return self.terms

    def fields(self) -> list[str]:
        """The field names used, in order, without repeats."""
        return list(dict.fromkeys(t.field for t in self.terms))

    def requires_exact_match(self, field: str) -> str | None:
        for t in self.terms:
            if t.field == field and t.operator == EQUALS:
                return t.value
        return None

    def transform(self, fn: Callable[[str, str], tuple[str, str]]) -> FieldSelector:
        """``Selector.Transform``: rewrite each term; one rewritten to ``("", "")`` is dropped."""
        out = []
        for t in self.terms:
            field, value = fn(t.field, t.value)
            if field or value:
                out.append(FieldRequirement(field, t.operator, value))
        return FieldSelector(tuple(out))

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.terms)


def escape_field_value(value: str) -> str:
    """``fields.EscapeValue``: backslash-escape ``\\``, ``,`` and ``=``."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_field_value(value: str) -> str:
    """``fields.UnescapeValue``; ``SelectorError`` on a bad escape or a bare ``,``/``=``."""
    if not any(c in value for c in "\\,="):
        return value
    out: list[str] = []
    in_slash = False
    for c in value:
        if in_slash:
            if c not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c in ",=":
            # Go prints the rune with %v, i.e. its code point number
            raise SelectorError(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if in_slash:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_field_terms(text: str) -> list[str]:
    if not text:
        return []
    terms: list[str] = []
    start = 0
    in_slash = False
    for i, c in enumerate(text):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_field_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def parse_field_selector(text: str) -> FieldSelector:
    """``fields.ParseSelector``; raises ``SelectorError`` with upstream's message.

    Terms are sorted by their raw text (as upstream does before parsing), ``==``
    is the same as ``=``, and a term that is just ``=`` selects everything.
    """
    terms: list[FieldRequirement] = []
    for part in sorted(_split_field_terms(text)):
        if part == "":
            continue
        split = _split_field_term(part)
        if split is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        lhs, op, rhs = split
        value = unescape_field_value(rhs)
        if lhs == "" and value == "":
            continue
        terms.append(FieldRequirement(lhs, NOT_EQUALS if op == "!=" else EQUALS, value))
    return FieldSelector(tuple(terms))


DEFAULT_SELECTABLE_FIELDS = ("metadata.name", "metadata.namespace")


def check_supported(
    selector: FieldSelector,
    supported: Collection[str] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> FieldSelector:
    """Reject fields a resource cannot select on, with the server's messages.

    With ``supported`` None (only ``metadata.name``/``metadata.namespace``) the
    message is ``"x" is not a known field selector: only "metadata.name",
    "metadata.namespace"`` (``runtime.DefaultMetaV1FieldSelectorConversion``);
    kinds with their own list (pods, events, ...) answer
    ``field label not supported: x``. ``aliases`` renames legacy fields (pods'
    ``spec.host`` is ``spec.nodeName``). The API server wraps the error as 400.
    """
    names = aliases or {}

    def convert(field: str, value: str) -> tuple[str, str]:
        if supported is None:
            if field in DEFAULT_SELECTABLE_FIELDS:
                return field, value
            only = ", ".join(go_quote(f) for f in DEFAULT_SELECTABLE_FIELDS)
            raise SelectorError(f"{go_quote(field)} is not a known field selector: only {only}")
        if field in names:
            return names[field], value
        if field in supported:
            return field, value
        raise SelectorError(f"field label not supported: {field}")

    return selector.transform(convert)


__all__ = [
    "DEFAULT_SELECTABLE_FIELDS",
    "EVERYTHING",
    "NOTHING",
    "FieldRequirement",
    "FieldSelector",
    "Requirement",
    "Selector",
    "SelectorError",
    "check_supported",
    "escape_field_value",
    "format_label_selector",
    "format_labels",
    "from_label_selector",
    "from_set",
    "new_requirement",
    "parse_field_selector",
    "parse_label_selector",
    "unescape_field_value",
]
