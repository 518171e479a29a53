"""``POST /token`` (platform.md §3.3.9): exchange a third-party sign-in's one-time token for a
session; the same tokens and rate limit (``token``) as the ``token_exchange`` flow."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpResponse
from rest_framework.request import Request

from hankoflow.api.public.legacy.base import (
    BodyInvalid,
    LegacyView,
    body,
    env_of,
    error,
    json,
    limited,
    sign_in,
    string,
)
from hankoflow.services import audit, ratelimit
from hankoflow.services.thirdparty import tokens


class TokenView(LegacyView):
    def post(self, request: Request) -> HttpResponse:
        env = env_of(request)
        refused = limited(ratelimit.Bucket.TOKEN, ratelimit.token_key(env.ip))
        if refused is not None:
            return refused
        try:
            value = string(body(request), "value")
        except BodyInvalid:
            return error(400)
        if not value:
            return error(400, "value is a required field")
        with transaction.atomic():
            try:
                # A token made with PKCE needs its verifier, which this endpoint never has.
                exchanged = tokens.consume(value, None)
            except (tokens.TokenInvalid, tokens.VerifierMismatch):
                audit.record(audit.TOKEN_EXCHANGE_FAILED, env=env, error="token not found")
                # Hanko: 422 "token has expired" for an expired one; the service deletes or
                # refuses those like unknown ones, so both are 404.
                return error(404, "token not found")
            account = exchanged.account
            response = json({"user_id": str(account.pk)})
            sign_in(request, account, response, login=not exchanged.user_created)
            audit.record(audit.TOKEN_EXCHANGE_SUCCEEDED, env=env, account=account)
        return response
