"""BingX's lenient JSON values, normalised at decode time: the base every BingX schema module builds on.

BingX is inconsistent about JSON types; all of it is normalised once, at decode time, by the field types
here (:class:`LenientStruct`), so code outside the schema modules (:mod:`schemas_rest`,
:mod:`schemas_user`, :mod:`schemas_market`) sees plain ``str | None`` / ``int | None`` / ``bool | None``
and never calls :func:`num` / :func:`to_int` / :func:`flag` (issue 15).

* Decimal values (prices, quantities, fees) are typed :data:`DecimalText`: BingX sends them as strings
  (``"0.0001"``), as JSON numbers (contracts ``tradeMinQuantity: 0.0001``, positions
  ``liquidationPrice: 294.16914617776246``, place-order ``price: 0``) and as ``""`` for "not set". They
  become exact decimal text (a JSON number's own digits through the decoders' ``float_hook``
  :func:`float_text` - never through float), ``""``/``null`` become None. A JSON string is kept as sent:
  the strict decimal grammar at the boundary (:mod:`adapters.core.parse.wire_values`) rejects ``" 0.1"``,
  ``"1e5"``, ``true`` or ``[1]``, naming the field. :data:`Num` (``msgspec.Raw``) and :func:`num` remain
  for code that holds raw JSON text.
* Order ids are int64 above 2^53 and arrive as numbers or strings: ``int`` fields decoded with
  ``strict=False`` accept both, exactly. Secondary ids that may be ``""`` are :data:`IntId`, read with
  :func:`to_int` (``""``/garbage -> None).
* Flags arrive as JSON bools or ``"true"``/``"false"``/``""``: :data:`Flag`, read with :func:`flag`
  (``""`` -> False; absent stays None).
"""

from __future__ import annotations

import inspect
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import msgspec

Num = msgspec.Raw
"""Raw JSON text of a decimal value (string, number, ``""`` or ``null``); read with :func:`num`."""

_PLAIN_DECIMAL: Final = b"0123456789.-"
# A JSON number's exponent is expanded to plain digits only within this range: ``1e999999999`` would
# otherwise become a gigabyte string. Outside it the text is returned as sent (``"1e999999999"``), which
# the strict decimal grammar at the boundary then rejects, naming the field.
_MAX_EXPANDED_EXPONENT: Final = 1000


def num(value: msgspec.Raw | str | float | None) -> str | None:
    """Exact decimal text of a :data:`Num` field, or None for ``""``/``null``/missing.

    JSON numbers keep their textual digits (``0.0001`` -> ``"0.0001"``); a JSON number's exponent
    is expanded through Decimal (``1e-5`` -> ``"0.00001"``: that is JSON number syntax, the value is
    exact). A JSON *string* is returned as sent: the strict decimal grammar at the boundary
    (:mod:`adapters.core.parse.wire_values`) then rejects ``" 0.1"``, ``"1e5"`` or ``"+1"`` instead of this
    function quietly reading them. Plain ``str`` is accepted too (for code that builds models);
    ``int`` is accepted, ``float`` is refused (its text is not the venue's).
    """
    if type(value) is msgspec.Raw:
        # Hot path (every user-stream decimal): a JSON string of digits, '.' and '-' only holds no
        # escape and no control character, so its text is the bytes between the quotes; anything
        # else takes the general path below.
        raw = bytes(value)
        if len(raw) >= 2 and raw[0] == 34 and raw[-1] == 34:  # '"'
            inner = raw[1:-1]
            if not inner.translate(None, _PLAIN_DECIMAL):
                return inner.decode("ascii") or None
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        raise TypeError("refusing float for a decimal value; pass the venue's text")
    if isinstance(value, bool):
        return str(value)  # not a number: rejected downstream
    b = bytes(value)
    if not b or b == b"null":
        return None
    if b[:1] == b'"':
        try:
            text = msgspec.json.decode(b, type=str)
        except msgspec.DecodeError:
            return b.decode("utf-8", "backslashreplace")
        return text or None
    s = b.decode("ascii", "backslashreplace")
    if ("e" in s or "E" in s) and s not in ("true", "false"):
        try:
            d = Decimal(s)
        except ArithmeticError:
            return s
        if d.is_finite() and -_MAX_EXPANDED_EXPONENT <= d.adjusted() <= _MAX_EXPANDED_EXPONENT:
            return format(d, "f")
        return s
    return s


def num_or(value: msgspec.Raw | str | None, default: str = "0") -> str:
    s = num(value)
    return default if s is None else s


def to_int(value: int | str | None) -> int | None:
    """int from an int or an ASCII decimal-digit string (``""``/None/garbage -> None). Never through
    float; never from padded text or non-ASCII digits (``int("١٢٣")`` would read 123)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    body = value[1:] if value[:1] == "-" else value
    if body.isascii() and body.isdigit():
        return int(value)
    return None


def flag(value: bool | str | int | None) -> bool:
    """Bool from ``true``/``"true"``/``"TRUE"``/``1``; anything else (``""``, None, ``"false"``) is False."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return False


def flag_or_none(value: bool | str | int | None) -> bool | None:
    """:func:`flag`, but an absent flag (``null``/missing) stays None (``""`` is a present, false flag)."""
    return None if value is None else flag(value)


# --------------------------------------------------------------------------------------------------
# Lenient fields, normalised at decode time
# --------------------------------------------------------------------------------------------------

if TYPE_CHECKING:
    DecimalText = str | None
    """A decimal value as exact text (``"0.0001"``), or None for ``""``/``null``/missing."""
    IntId = int | None
    """An id or time as int, or None for ``""``/``null``/missing/non-digit text."""
    Flag = bool | None
    """A flag as bool (``""`` is False), or None for ``null``/missing."""
else:
    # What msgspec decodes; :class:`LenientStruct` turns it into the type above right after decoding.
    # ``Any``: a JSON string arrives as ``str`` (decoded natively, already final unless ``""``), an integer
    # as ``int``, a non-integer number as its exact text through :func:`float_text` (the decoders'
    # ``float_hook``), anything else as a Python value that :func:`decimal_text` turns into rejected text.
    DecimalText = Any
    IntId = int | str | None
    Flag = bool | str | None


def float_text(text: str) -> str:
    """``float_hook`` of the BingX decoders: a JSON number's exact text (never a float); an exponent is
    expanded (``1e-5`` -> ``"0.00001"``) within a bounded range, as :func:`num` does."""
    if "e" in text or "E" in text:
        try:
            d = Decimal(text)
        except ArithmeticError:
            return text
        if d.is_finite() and -_MAX_EXPANDED_EXPONENT <= d.adjusted() <= _MAX_EXPANDED_EXPONENT:
            return format(d, "f")
    return text


def decimal_text(value: Any) -> str | None:
    """Normaliser of a :data:`DecimalText` field that is not already a non-empty ``str``.

    ``""``/None -> None; an int -> its digits; a :data:`Num` (``msgspec.Raw``) -> :func:`num`; a float is
    refused (TypeError: its text is not the venue's; the BingX decoders never produce one); a bool, list or
    object -> its JSON text, which the strict decimal grammar downstream rejects, naming the field.
    """
    if value is None or value == "":
        return None
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[no-any-return]
    if cls is int:
        return str(value)
    if cls is msgspec.Raw or isinstance(value, str):
        return num(value)
    if isinstance(value, float):
        raise TypeError("refusing float for a decimal value; decode with the BingX decoders (float_hook)")
    return msgspec.json.encode(value).decode("utf-8", "backslashreplace")


# Generated per-field code: the common case (a present, well-typed value) costs one type test, no call.
_NORMALISE: Final[dict[str, str]] = {
    "DecimalText": "    v = self.{0}\n    if v is not None and (v.__class__ is not str or not v):\n"
    "        self.{0} = decimal_text(v)\n",
    "IntId": "    v = self.{0}\n    if v is not None and v.__class__ is not int:\n"
    "        self.{0} = to_int(v)\n",
    "Flag": "    v = self.{0}\n    if v is not None and v.__class__ is not bool:\n"
    "        self.{0} = flag(v)\n",
}


class LenientStruct(msgspec.Struct):
    """Base of the models with :data:`DecimalText` / :data:`IntId` / :data:`Flag` fields.

    BingX sends those values as JSON numbers, strings or ``""``. Each subclass gets a generated
    ``__post_init__`` (run by msgspec right after a decode, and on construction) that normalises them once
    with :func:`decimal_text` / :func:`to_int` / :func:`flag`, so code outside the schema modules sees plain
    ``str | None`` / ``int | None`` / ``bool | None``. The normalisers never raise on venue input and never
    invent a value: a malformed decimal stays text (rejected, naming the field, by the strict decimal
    grammar downstream), a malformed id is None (absent), as :func:`to_int` always read it, an absent flag
    stays None. They are idempotent, so re-normalising an already plain value is harmless.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        normalise: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for name, annotation in inspect.get_annotations(klass).items():
                code = _NORMALISE.get(annotation) if isinstance(annotation, str) else None
                if code is not None:
                    normalise[name] = code.format(name)
                else:
                    normalise.pop(name, None)
        if not normalise:
            return
        namespace: dict[str, Any] = {"decimal_text": decimal_text, "to_int": to_int, "flag": flag}
        exec(f"def __post_init__(self):\n{''.join(normalise.values())}", namespace)
        cls.__post_init__ = namespace["__post_init__"]  # type: ignore[attr-defined]


__all__ = [
    "DecimalText",
    "Flag",
    "IntId",
    "LenientStruct",
    "Num",
    "decimal_text",
    "flag",
    "flag_or_none",
    "float_text",
    "num",
    "num_or",
    "to_int",
]
