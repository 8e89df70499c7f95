"""Refuse request bodies over the upload limit while they arrive, not after they are stored.

Starlette's multipart parser spools a whole upload (to memory, then to a temporary file)
before the endpoint sees it, so a size check in the endpoint would come after the damage. This
ASGI middleware answers 413 at once when Content-Length declares too much; otherwise (chunked
uploads) it counts the bytes as the app reads them and, past the cap, tells the app the client
has gone (so parsing stops) and sends 413 in place of whatever the app then answers.
"""
import json

# multipart boundaries and field headers around the file itself
MULTIPART_OVERHEAD_BYTES = 16 * 1024


class BodyLimit:
    """ASGI middleware: HTTP bodies longer than max_bytes (plus multipart overhead) get 413."""

    def __init__(self, app, max_bytes):
        self.app = app
        self.max_bytes = int(max_bytes)
        self.cap = self.max_bytes + MULTIPART_OVERHEAD_BYTES

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = _content_length(scope)
        if declared is not None and declared > self.cap:
            return await self._refuse(send, f"declared {declared} bytes")
        state = {"seen": 0, "over": False, "started": False}

        async def counted_receive():
            if state["over"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > self.cap:
                    state["over"] = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if not state["over"]:
                state["started"] = True
                return await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not state["over"]:
                raise
        if state["over"] and not state["started"]:
            await self._refuse(send, f"over {state['seen']} bytes")

    async def _refuse(self, send, size):
        mib = self.max_bytes / (1024 * 1024)
        message = (f"upload too large: {size}, the limit is {self.max_bytes} bytes "
                   f"({mib:g} MiB; vui serve --max-upload-mb)")
        body = json.dumps({"error": message}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope):
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
