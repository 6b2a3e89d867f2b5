"""Local HTTP servers that answer like the OpenAI and Runware APIs (shapes from their references).

Each server runs on 127.0.0.1 in a thread. Tests queue what the next requests get
(``server.queue(...)``): a status with an error body and headers (429 with Retry-After,
401, 500, ...), a delay (timeouts), or an answer; with nothing queued the server answers
successfully. Every request is recorded (path, headers, JSON body).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalicelib.ai.providers.offline_provider import render_png


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # None: the endpoint's normal success answer
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content: str | None = None  # chat: the assistant message to send
    usage: dict[str, int] | None = None  # chat: prompt/completion/cached token counts


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any


class FakeAPI:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self._queue: list[Reply] = []
        self._lock = threading.Lock()
        handler = self._handler_class()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def queue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def _next(self) -> Reply:
        with self._lock:
            return self._queue.pop(0) if self._queue else Reply()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                api.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                reply = api._next()
                if reply.delay:
                    time.sleep(reply.delay)
                status, payload, headers = api.respond(self.path, dict(self.headers), body, reply)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        return Handler

    def respond(self, path: str, headers: dict[str, str], body: Any, reply: Reply) -> tuple[int, Any, dict]:
        raise NotImplementedError


def png_b64(width: int, height: int) -> str:
    return base64.b64encode(render_png(width, height, uuid.uuid4().bytes * 2, {"Software": "fake api"})).decode()


class FakeOpenAI(FakeAPI):
    """POST /v1/chat/completions, /v1/embeddings, /v1/images/generations."""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def respond(self, path: str, headers: dict[str, str], body: Any, reply: Reply) -> tuple[int, Any, dict]:
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if auth != f"Bearer {self.api_key}":
            presented = auth.removeprefix("Bearer ")
            # The real API masks the key; echo it whole here, to prove we redact it ourselves.
            return 401, {"error": {"message": f"Incorrect API key provided: {presented}. You can find your API key "
                                              "at https://platform.openai.com/account/api-keys.",
                                   "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}, {}
        if reply.status != 200:
            return reply.status, reply.body if reply.body is not None else _openai_error(reply.status), reply.headers
        if reply.body is not None:
            return 200, reply.body, reply.headers
        if path.endswith("/chat/completions"):
            return 200, self._chat(body, reply), {"x-request-id": "req_test"}
        if path.endswith("/embeddings"):
            return 200, self._embeddings(body), {}
        if path.endswith("/images/generations"):
            return 200, self._images(body), {}
        return 404, {"error": {"message": f"Invalid URL (POST {path})", "type": "invalid_request_error",
                               "param": None, "code": None}}, {}

    @staticmethod
    def _chat(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        prompt_chars = sum(len(m.get("content") or "") for m in body["messages"])
        content = reply.content if reply.content is not None else '{"answer": "ok"}'
        usage = reply.usage or {}
        prompt_tokens = usage.get("prompt_tokens", max(1, prompt_chars // 4))
        completion_tokens = usage.get("completion_tokens", max(1, len(content) // 4))
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None,
                                                 "annotations": []},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens,
                      "prompt_tokens_details": {"cached_tokens": usage.get("cached_tokens", 0), "audio_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                    "accepted_prediction_tokens": 0,
                                                    "rejected_prediction_tokens": 0}},
            "service_tier": "default", "system_fingerprint": "fp_test",
        }

    @staticmethod
    def _embeddings(body: dict[str, Any]) -> dict[str, Any]:
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [{"object": "embedding", "index": i, "embedding": [((i + 1) * (j + 1)) % 7 / 7 for j in range(8)]}
                for i, _ in enumerate(texts)]
        tokens = sum(max(1, len(t) // 4) for t in texts)
        return {"object": "list", "data": data, "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    @staticmethod
    def _images(body: dict[str, Any]) -> dict[str, Any]:
        width, height = (int(x) for x in body.get("size", "1024x1024").split("x"))
        answer: dict[str, Any] = {
            "created": int(time.time()),
            "data": [{"b64_json": png_b64(width, height), "revised_prompt": body["prompt"]}
                     for _ in range(body.get("n", 1))],
        }
        if body["model"].startswith("gpt-image"):  # only the GPT image models report token usage
            answer["usage"] = {"input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210,
                               "input_tokens_details": {"text_tokens": 50, "image_tokens": 0}}
        return answer


def _openai_error(status: int) -> dict[str, Any]:
    if status == 429:
        return {"error": {"message": "Rate limit reached for gpt-4o-mini in organization org-test on requests "
                                     "per min (RPM): Limit 3, Used 3, Requested 1.",
                          "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
    if status >= 500:
        return {"error": {"message": "The server had an error while processing your request. Sorry about that!",
                          "type": "server_error", "param": None, "code": None}}
    return {"error": {"message": "Invalid request.", "type": "invalid_request_error", "param": None, "code": None}}


class FakeRunware(FakeAPI):
    """POST /v1 with a JSON array of tasks; imageInference answers with base64 PNGs."""

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def respond(self, path: str, headers: dict[str, str], body: Any, reply: Reply) -> tuple[int, Any, dict]:
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if auth != f"Bearer {self.api_key}":
            return 401, {"errors": [{"code": "invalidApiKey", "message": "Invalid API key. Get one at "
                                     "https://my.runware.ai/signup", "parameter": "apiKey",
                                     "taskType": "authentication"}]}, {}
        if reply.status != 200:
            body_out = reply.body if reply.body is not None else {"errors": [{
                "code": "tooManyRequests" if reply.status == 429 else "internalServerError",
                "message": "Too many requests." if reply.status == 429 else "Internal server error.",
                "taskType": "imageInference"}]}
            return reply.status, body_out, reply.headers
        if reply.body is not None:
            return 200, reply.body, reply.headers
        if not isinstance(body, list) or not body:
            return 400, {"errors": [{"code": "invalidPayload", "message": "The payload must be a task array."}]}, {}
        data = []
        for task in body:
            if task.get("taskType") != "imageInference":
                continue
            for _ in range(int(task.get("numberResults", 1))):
                data.append({"taskType": "imageInference", "taskUUID": task["taskUUID"],
                             "imageUUID": str(uuid.uuid4()),
                             "imageBase64Data": png_b64(int(task["width"]), int(task["height"])),
                             "seed": 12345, "NSFWContent": False, "cost": 0.0013})
        return 200, {"data": data}, {}
