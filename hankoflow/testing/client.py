"""``FlowClient``: drives Flow API endpoints in tests and checks every answer against Hanko's
OpenAPI document, so no test can produce a response a Hanko client would not accept.

Host projects can use it too (the ``flow_client`` fixture, or
``from hankoflow.testing.client import FlowClient``). Checking needs the ``testing`` extra and the
documents (``hankoflow.testing.openapi_documents``); by default the client checks when both are
there and only drives the API otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.test import Client, TestCase

from hankoflow.testing.openapi_documents import validation_unavailable


@dataclass
class FlowResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    cookies: dict[str, Any]  # name -> http.cookies.Morsel of the Set-Cookie headers

    @property
    def state(self) -> str:
        return self.body["name"]

    @property
    def csrf_token(self) -> str:
        return self.body["csrf_token"]

    @property
    def error_code(self) -> str | None:
        return (self.body.get("error") or {}).get("code")

    def href(self, action: str) -> str:
        return self.body["actions"][action]["href"]

    def action_param(self, action: str) -> str:
        return parse_qs(urlsplit(self.href(action)).query)["action"][0]

    def input_error(self, action: str, name: str) -> str | None:
        item = self.body["actions"][action]["inputs"][name]
        return (item.get("error") or {}).get("code")


class FlowClient:
    """A thin wrapper around Django's test ``Client`` for the Flow API."""

    def __init__(self, client: Client | None = None, *, validate: bool | None = None) -> None:
        """``validate``: True checks every answer (failing when it cannot), False never, None
        (default) when the validation packages and documents are available."""
        self.client = client or Client()
        #: Why answers are not checked (None when they are, or when ``validate=True``).
        self.skipped_validation: str | None = None
        if validate is None:
            self.skipped_validation = validation_unavailable()
            validate = self.skipped_validation is None
        self.validate = validate

    def start(self, flow: str, **headers: Any) -> FlowResponse:
        return self._post(f"/{flow}", b"", **headers)

    def act(
        self,
        state: FlowResponse,
        action: str,
        input_data: dict[str, Any] | None = None,
        *,
        csrf_token: str | None = None,
        **headers: Any,
    ) -> FlowResponse:
        """Execute ``action`` of ``state`` the way Hanko's SDK does."""
        body = {
            "input_data": input_data or {},
            "csrf_token": state.csrf_token if csrf_token is None else csrf_token,
        }
        return self._post(state.href(action), json.dumps(body).encode(), **headers)

    def post_raw(
        self, path: str, body: bytes, content_type: str = "application/json", **headers: Any
    ) -> FlowResponse:
        return self._post(path, body, content_type=content_type, **headers)

    def _post(
        self, path: str, body: bytes, content_type: str = "application/json", **headers: Any
    ) -> FlowResponse:
        # Run what the step left for after its commit (e.g. sending the passcode email), as a
        # real request would, also inside a test's wrapping transaction.
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = self.client.generic(
                "POST", path, body, content_type=content_type, headers=headers or None
            )
        assert response["Content-Type"].startswith("application/json"), response.content[:200]
        parsed = response.json()
        assert parsed["status"] == response.status_code, "body status must equal HTTP status"
        if self.validate:
            from hankoflow.testing.openapi import assert_valid_flow_response

            assert_valid_flow_response(urlsplit(path).path, response.status_code, parsed)
        return FlowResponse(
            response.status_code, parsed, dict(response.headers), dict(response.cookies)
        )
