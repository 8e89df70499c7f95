"""One exception for every refusal the service makes, and the JSON it becomes.

Handlers raise ServeError(status, message) wherever they find a problem; one exception handler
turns it into `{"error": message}` with that status, so every error a client sees has the same
shape and a sentence that names the problem and, where there is one, the limit.
"""
from fastapi import Request
from fastapi.responses import JSONResponse

RETRY_AFTER_SECONDS = 5      # what a client is told to wait while the model loads


class ServeError(Exception):
    """A request the service refuses: an HTTP status, a message for people, extra headers."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad_request(message):
    return ServeError(400, message)


def too_large(message):
    return ServeError(413, message)


def model_loading(name):
    return ServeError(503, f"the model {name} is still loading; retry in {RETRY_AFTER_SECONDS} s",
                      {"Retry-After": str(RETRY_AFTER_SECONDS)})


def decoding_failed(err):
    """The beam decoding workers died under this request (killed, out of memory) twice
    running; fresh ones start with the next request."""
    return ServeError(503, f"the decoding workers stopped while decoding this request "
                           f"({type(err).__name__}: {err}); retry in {RETRY_AFTER_SECONDS} s",
                      {"Retry-After": str(RETRY_AFTER_SECONDS)})


def model_unavailable(reason):
    """No model will come: none was given, or it failed to load (no Retry-After: waiting
    will not help)."""
    return ServeError(503, reason)


async def serve_error_handler(_request: Request, err: ServeError):
    return JSONResponse({"error": err.message}, status_code=err.status, headers=err.headers)


async def internal_error_handler(_request: Request, err: Exception):
    """A failure no check foresaw (a bug): still the JSON shape clients parse, with its type
    and message; the traceback goes to the server's log as before."""
    return JSONResponse({"error": f"internal error: {type(err).__name__}: {err}"},
                        status_code=500)
