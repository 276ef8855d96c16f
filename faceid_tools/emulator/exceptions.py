"""The errors the emulator answers with, worded in the service's own style.

:class:`ServiceError` becomes an API 3.0 error envelope (HTTP 200); :class:`CosError` becomes a
COS-style XML error with a real HTTP status.  Messages quoted from the service where its wording
is public (``SecretIdNotFound``, ``SignatureFailure``, ``RequestLimitExceeded``, ``MissingParameter``,
``UnknownParameter``, ``InvalidParameterValue``, ``NoSuchVersion``, ``UnsupportedRegion``, the
action's two ``FailedOperation`` codes); the others are our reading (see ``docs/emulator.md``).
No message ever contains a secret key, token or signature.
"""

from __future__ import annotations

from typing import Any

#: Longest parameter value echoed back in a message (values are the caller's, but keep answers small).
ECHO_LIMIT = 64


def _echo(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("`", "'")
    return text if len(text) <= ECHO_LIMIT else text[: ECHO_LIMIT - 3] + "..."


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class ServiceError(Exception):
    """An API 3.0 error: ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# --- authentication ---------------------------------------------------------------------------


def signature_failure() -> ServiceError:
    return ServiceError(
        "AuthFailure.SignatureFailure",
        "The provided credentials could not be validated. Please check your signature is correct.",
    )


def signature_expire(timestamp: int, server_time: int, window: int) -> ServiceError:
    return ServiceError(
        "AuthFailure.SignatureExpire",
        f"Signature expired. Timestamp `{timestamp}` differs from server time `{server_time}` "
        f"by more than {window} seconds; please check that your local clock is synchronised.",
    )


def secret_id_not_found() -> ServiceError:
    return ServiceError(
        "AuthFailure.SecretIdNotFound",
        "The SecretId is not found, please ensure that your SecretId is correct.",
    )


def token_failure(detail: str) -> ServiceError:
    return ServiceError("AuthFailure.TokenFailure", f"Token verification failed: {detail}.")


def invalid_authorization(detail: str) -> ServiceError:
    return ServiceError(
        "AuthFailure.InvalidAuthorization",
        f"The request `Authorization` header does not conform to tencentcloud standards: {detail}.",
    )


# --- request shape -------------------------------------------------------------------------------


def missing_parameter(name: str) -> ServiceError:
    return ServiceError(
        "MissingParameter", f"The request is missing a required parameter `{name}`."
    )


def unknown_parameter(name: str) -> ServiceError:
    return ServiceError("UnknownParameter", f"The parameter `{_echo(name)}` is not recognized.")


def invalid_value(name: str, value: Any) -> ServiceError:
    return ServiceError(
        "InvalidParameterValue",
        f"The value `{_echo(value)}` specified in the parameter `{name}` is not valid.",
    )


def invalid_type(name: str) -> ServiceError:
    """A value of the wrong type (a JSON number where a String is due): ``InvalidParameter``."""
    return ServiceError("InvalidParameter", f"The value type of parameter `{name}` is not valid.")


def invalid_format(name: str, value: Any) -> ServiceError:
    """A String that is not in the parameter's format (not a URL, not 32 hex digits)."""
    return ServiceError(
        "InvalidParameter",
        f"The value `{_echo(value)}` specified in the parameter `{name}` is not in a valid format.",
    )


def invalid_region_value() -> ServiceError:
    return ServiceError(
        "InvalidParameterValue",
        "A value specified in `X-TC-Region` is not valid, is unsupported, or cannot be used.",
    )


def invalid_parameter(detail: str) -> ServiceError:
    return ServiceError("InvalidParameter", detail)


def unsupported_region() -> ServiceError:
    return ServiceError("UnsupportedRegion", "The action not support this region.")


def unsupported_operation(detail: str) -> ServiceError:
    return ServiceError("UnsupportedOperation", detail)


def invalid_action(action: str) -> ServiceError:
    return ServiceError(
        "InvalidAction",
        f"The action `{_echo(action)}` is invalid or not found in service=`faceid`.",
    )


def no_such_version(version: str) -> ServiceError:
    return ServiceError(
        "NoSuchVersion",
        f"The specified api version=`{_echo(version)}` does not exist in service=`faceid`.",
    )


def request_size_limit(size: int, limit: int, method: str) -> ServiceError:
    what = "request body" if method == "POST" else "query string"
    return ServiceError(
        "RequestSizeLimitExceeded",
        f"The {what} size `{size}` exceeds the limit of `{limit}` bytes for {method} requests.",
    )


# --- quota and behaviour ------------------------------------------------------------------------


def request_limit_exceeded(count: int, limit: float) -> ServiceError:
    return ServiceError(
        "RequestLimitExceeded",
        f"Your current request times equals to `{count}` in a second, which exceeds the frequency "
        f"limit `{_number(limit)}` for a second. Please reduce the frequency of calls.",
    )


#: Messages for the codes the behaviour profile draws.
DRAWN_MESSAGES: dict[str, str] = {
    "InternalError": "An internal error has occurred. Retry your request, but if the problem "
    "persists, contact us with details by filing a ticket.",
    "ServiceUnavailable": "Service is unavailable now, please try again later.",
    "FailedOperation.DownLoadError": "File download failed.",
    "FailedOperation.DownLoadTimeoutError": "File download timed out.",
}


def drawn(code: str) -> ServiceError:
    """The error the behaviour model drew for a call."""
    return ServiceError(code, DRAWN_MESSAGES[code])


def download_error() -> ServiceError:
    return drawn("FailedOperation.DownLoadError")


def internal_error() -> ServiceError:
    return drawn("InternalError")


def service_unavailable() -> ServiceError:
    return drawn("ServiceUnavailable")


# --- object store ------------------------------------------------------------------------------


class CosError(Exception):
    """A COS-style failure: HTTP ``status`` and an XML ``<Error>`` body."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def cos_access_denied(message: str = "Access Denied.") -> CosError:
    return CosError(403, "AccessDenied", message)


def cos_expired() -> CosError:
    return CosError(403, "AccessDenied", "Request has expired")


def cos_signature_mismatch() -> CosError:
    return CosError(
        403,
        "SignatureDoesNotMatch",
        "The Signature you specified is invalid.",
    )


def cos_invalid_access_key() -> CosError:
    return CosError(403, "InvalidAccessKeyId", "The access key Id format you provided is invalid.")


def cos_no_such_key() -> CosError:
    return CosError(404, "NoSuchKey", "The specified key does not exist.")


def cos_no_such_bucket() -> CosError:
    return CosError(404, "NoSuchBucket", "The specified bucket does not exist.")


def cos_method_not_allowed(method: str) -> CosError:
    return CosError(
        405, "MethodNotAllowed", f"The specified method `{_echo(method)}` is not allowed."
    )


def cos_invalid_argument(detail: str) -> CosError:
    return CosError(400, "InvalidArgument", detail)


def cos_entity_too_large(limit: int) -> CosError:
    return CosError(
        400, "EntityTooLarge", f"Your proposed upload exceeds the maximum allowed size {limit}."
    )


def cos_bad_digest() -> CosError:
    return CosError(
        400, "BadDigest", "The Content-MD5 you specified did not match what was received."
    )
