"""A local HTTP server answering as Resend's ``POST /emails`` does (docs: resend.com/docs/api-reference)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.unit.ai.fake_apis import FakeAPI, Reply


class FakeResend(FakeAPI):
    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def respond(self, path: str, headers: dict[str, str], body: Any, reply: Reply) -> tuple[int, Any, dict]:
        if reply.status != 200:
            return reply.status, reply.body or {"statusCode": reply.status, "name": "error", "message": "refused"}, {}
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, {"statusCode": 401, "name": "missing_api_key", "message": "Missing API key"}, {}
        if path != "/emails":
            return 404, {"statusCode": 404, "name": "not_found", "message": "Not found"}, {}
        return 200, {"id": str(uuid.uuid4())}, {}
