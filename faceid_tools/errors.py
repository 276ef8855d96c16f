"""The exception tree.

Every error the toolkit raises for its users derives from :class:`FaceIDError` (importable as
``faceid_tools.FaceIDError``), which carries ``code``, ``message`` and ``request_id`` (``None``
where the service gave none).  The classes outside this module (``ExportError``,
``ParquetDatasetError``, ``SchemaTooNewError``, ``CampaignExistsError``, ``UnknownCampaignError``,
``ProfileError``, ``SequenceFormatError``, ``NotebookError``) derive from it too; bad input the
package finds is an :class:`InputError` (a missing file a :class:`MissingInputError`); the emulator's
service-error classes, which model the service's answers, stay apart.  Errors inherit twice
where a builtin fits, so ``except ValueError`` / ``except TimeoutError`` / ``except
ConnectionError`` work as well as the narrow classes.  No message ever contains a secret.
"""

from __future__ import annotations


class FaceIDError(Exception):
    """Base of every faceid-tools error."""

    code: str = "FaceIDError"
    #: Set by the client on errors it raises from an exchange: the logical call and how many
    #: attempts it made (so a caller can find the call's rows in the log).
    call_id: str | None = None
    attempts: int | None = None

    def __init__(self, message: str, *, code: str | None = None, request_id: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.request_id = request_id

    def __str__(self) -> str:
        rid = f" (RequestId {self.request_id})" if self.request_id else ""
        if self.code == FaceIDError.code:  # no code of its own: the message alone
            return f"{self.message}{rid}"
        return f"[{self.code}] {self.message}{rid}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, request_id={self.request_id!r})"


# --- input validation (raised before any network I/O) -------------------------------------


class ValidationError(FaceIDError, ValueError):
    """An argument broke a rule; nothing was sent.  ``field`` and ``rule`` say which."""

    code = "ClientValidation"

    def __init__(self, field: str, rule: str, value: object = None):
        shown = "" if value is None else f" (got {_short(value)})"
        super().__init__(f"{field}: {rule}{shown}")
        self.field = field
        self.rule = rule


class InputError(FaceIDError, ValueError):
    """An argument or input the caller gave breaks a rule (a file, a folder, an option value, a
    window, ...); the message names it and the rule.  Also a ``ValueError``."""


class MissingInputError(InputError, FileNotFoundError):
    """A file or folder the caller named does not exist or holds nothing usable.  Also a
    ``FileNotFoundError``."""


class ResourceError(FaceIDError, OSError):
    """The machine refused what the work needs (a port to bind, a folder to write); the input was
    fine.  Also an ``OSError``."""


class CredentialError(FaceIDError, LookupError):
    """No usable credential; the message names every place tried."""

    code = "CredentialNotFound"


# --- the service answered with an Error envelope --------------------------------------------


class APIError(FaceIDError):
    """The service answered ``{"Response": {"Error": {...}}}``."""


class AuthError(APIError):
    """``AuthFailure.*``: signature, expiry, SecretId, token, header."""


class QuotaError(APIError):
    """``RequestLimitExceeded*``: over the per-second quota (retried)."""


class InvalidInputError(APIError, ValueError):
    """The service rejected the input (parameters, region, action, version, size)."""


class DownloadError(APIError):
    """``FailedOperation.DownLoadError`` / ``DownLoadTimeoutError``: the device data could not be fetched."""


class ServerError(APIError):
    """``InternalError`` / ``ServiceUnavailable`` (retried)."""


_PREFIX_CLASSES: tuple[tuple[str, type[APIError]], ...] = (
    ("AuthFailure", AuthError),
    ("RequestLimitExceeded", QuotaError),
    ("FailedOperation.DownLoad", DownloadError),
    ("InternalError", ServerError),
    ("ServiceUnavailable", ServerError),
    ("InvalidParameter", InvalidInputError),
    ("MissingParameter", InvalidInputError),
    ("UnknownParameter", InvalidInputError),
    ("UnsupportedRegion", InvalidInputError),
    ("InvalidAction", InvalidInputError),
    ("NoSuchVersion", InvalidInputError),
    ("RequestSizeLimitExceeded", InvalidInputError),
    ("UnsupportedOperation", InvalidInputError),
)

RETRYABLE_CODE_PREFIXES: tuple[str, ...] = (
    "RequestLimitExceeded",
    "InternalError",
    "ServiceUnavailable",
)


def api_error(code: str, message: str, request_id: str | None) -> APIError:
    """Build the narrowest :class:`APIError` subclass for a service error code."""
    for prefix, cls in _PREFIX_CLASSES:
        if code == prefix or code.startswith(prefix + ".") or code.startswith(prefix):
            return cls(message, code=code, request_id=request_id)
    return APIError(message, code=code, request_id=request_id)


def is_retryable_code(code: str) -> bool:
    return code.startswith(RETRYABLE_CODE_PREFIXES)


# --- transport: no usable answer ------------------------------------------------------------


class TransportError(FaceIDError):
    """The exchange failed below the API: nothing, or nothing usable, came back."""


class NetworkError(TransportError, ConnectionError):
    """Connection refused, reset, DNS, TLS."""

    code = "NetworkError"


class RequestTimeoutError(TransportError, TimeoutError):
    """Connect or read timeout."""

    code = "Timeout"


# --- an answer came back but it is not a valid API 3.0 envelope -----------------------------


class BadResponseError(FaceIDError):
    """The answer is not a well-formed API 3.0 envelope."""

    code = "BadResponse"


class HTTPStatusError(BadResponseError):
    """HTTP status other than 200 (the API answers 200 even for errors)."""

    code = "HTTPStatus"

    def __init__(self, status: int, message: str, *, request_id: str | None = None):
        super().__init__(message, request_id=request_id)
        self.status = status


class ContentTypeError(BadResponseError):
    """``Content-Type`` is not ``application/json``."""

    code = "BadContentType"


class NotJSONError(BadResponseError, ValueError):
    """The body is not JSON (or not a JSON object)."""

    code = "NotJSON"


class MissingResponseError(BadResponseError):
    """The JSON has no ``Response`` object."""

    code = "MissingResponse"


class MissingFieldError(BadResponseError):
    """``Response`` lacks a field the action must return; ``field`` names it."""

    code = "MissingField"

    def __init__(self, field: str, message: str, *, request_id: str | None = None):
        super().__init__(message, request_id=request_id)
        self.field = field


class ResponseTooLargeError(BadResponseError):
    """The body exceeded the client's size limit."""

    code = "ResponseTooLarge"


# --- the call log on disk cannot be read as one ----------------------------------------------


class CallLogError(FaceIDError, ValueError):
    """A call log that cannot be read: a damaged file, or a stored value that does not fit its
    column.  The message names the file (and, for a value, the row id and the column)."""

    code = "CallLogError"


# --- downloaded bytes do not match their MD5 -------------------------------------------------


class IntegrityError(FaceIDError):
    """Downloaded bytes do not hash to the MD5 the service gave."""

    code = "IntegrityError"

    def __init__(
        self, message: str, *, expected_md5: str, actual_md5: str, request_id: str | None = None
    ):
        super().__init__(message, request_id=request_id)
        self.expected_md5 = expected_md5
        self.actual_md5 = actual_md5


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
