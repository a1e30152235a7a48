"""The one error every patch function raises, and how the API server should answer it.

``PatchError.code`` says which Status to build, following the apiserver's patch
handler (``endpoints/handlers/patch.go``) and ``interpretStrategicMergePatchError``:

* ``400`` BadRequest: the patch document itself is malformed (not a list of
  operations, ``Invalid JSON Patch``, a directive with the wrong shape). The
  Status message is ``message``.
* ``422`` Invalid: the patch is well formed but cannot be applied (a JSON patch
  ``test`` failed, a path is missing, lists of lists). Upstream wraps these with
  ``NewGenericServerResponse(422, ...)``, which drops the detail: the Status
  message is ``the server rejected our request due to an error in our request``
  and ``details`` is empty. ``status_message`` gives that text; ``message`` keeps
  the detail for logs.
* ``413`` RequestEntityTooLarge: more than 10000 JSON patch operations.
* ``500``: errors upstream passes through unwrapped (unknown ``$patch`` values,
  missing merge keys, an applied configuration that cannot be typed). They are
  not ``StatusError`` objects, so the apiserver's ``ErrorToAPIStatus`` answers 500 with
  the error text as the message and no reason (kubectl prints ``Error from
  server: <message>``), e.g. ``failed to create typed patch object (...)``.

Nothing here does I/O.
"""

from __future__ import annotations

from typing import Any

GENERIC_422 = "the server rejected our request due to an error in our request"

_REASONS = {
    400: "BadRequest",
    413: "RequestEntityTooLarge",
    422: "Invalid",
    500: "",
}


class PatchError(ValueError):
    """A patch could not be decoded or applied."""

    def __init__(self, message: str, code: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    @property
    def reason(self) -> str:
        """The Status ``reason`` for ``code`` (empty, i.e. Unknown, for 500)."""
        return _REASONS.get(self.code, "")

    @property
    def status_message(self) -> str:
        """The Status ``message`` the real API server sends for this error."""
        if self.code == 422:
            return GENERIC_422
        return self.message

    def __repr__(self) -> str:
        return f"PatchError({self.message!r}, code={self.code})"


def go_format(value: Any) -> str:
    """Render a decoded JSON value as Go's ``fmt`` ``%v`` does, for error messages.

    Maps print as ``map[k:v ...]`` with sorted keys, lists as ``[a b]``, null as
    ``<nil>``, strings bare, and whole floats without a fraction.
    """
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, dict):
        inner = " ".join(f"{k}:{go_format(value[k])}" for k in sorted(value))
        return f"map[{inner}]"
    if isinstance(value, list):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    return str(value)
