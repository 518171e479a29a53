"""The redirect / callback dance (platform.md §9.2): start a sign-in at a provider, and finish
it when the provider sends the browser back to ``/thirdparty/callback``.

``start`` (called by the flow action ``thirdparty_oauth``) checks the redirect target and the
provider and returns the authorization URL with the sealed state. ``finish`` (called by the
callback view) checks the state, exchanges the code, links or creates the account, issues a
one-time token and says where to send the browser: ``redirect_to?hanko_token=...``, or on any
error ``redirect_to?error=...&error_description=...`` (Hanko's codes, §9.2 step 4).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db import transaction
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from hankoflow.conf import settings
from hankoflow.engine import RequestFacts
from hankoflow.services import audit
from hankoflow.services.thirdparty import (
    backends,
    identities,
    linking,
    providers,
    redirects,
    tokens,
)
from hankoflow.services.thirdparty.state import (
    InvalidState,
    State,
    StateUnchecked,
    consume,
    open_state,
    peek,
)

logger = logging.getLogger("hankoflow.thirdparty")

SERVER_ERROR_DESCRIPTION = "an internal error has occurred"
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1


class StartRefused(Exception):
    """The start cannot go on: a bad input (``form_data_invalid``) or a provider failure."""

    def __init__(self, reason: str, *, technical: bool = False) -> None:
        super().__init__(reason)
        self.technical = technical


@dataclass(frozen=True)
class Started:
    authorization_url: str
    sealed_state: str


def callback_url(request: HttpRequest | None) -> str:
    """``THIRD_PARTY.REDIRECT_URL``, else this server's ``/thirdparty/callback``."""
    if settings.THIRD_PARTY.REDIRECT_URL:
        return settings.THIRD_PARTY.REDIRECT_URL
    try:
        path = reverse("hankoflow:thirdparty-callback")
    except NoReverseMatch:
        path = reverse("thirdparty-callback")
    return request.build_absolute_uri(path) if request is not None else path


def start(
    provider_id: str,
    redirect_to: str,
    code_verifier: str,
    request: HttpRequest | None,
    *,
    user_id: str = "",
) -> Started:
    """The provider's authorization URL for a new sign-in (flow-api.md §4.0.2.4), or for the
    profile's connect of the account ``user_id`` (§4.3.2 #21)."""
    if not redirects.is_allowed(redirect_to):
        raise StartRefused("redirect_to is not allowed")
    provider = providers.get(provider_id)
    if provider is None:
        raise StartRefused("unknown provider")
    if code_verifier and not _VERIFIER.fullmatch(code_verifier):
        # Hanko: any string; RFC 7636 verifiers only, so a provider never refuses ours.
        raise StartRefused("code_verifier is not a valid PKCE verifier")
    state = State.new(provider.id, redirect_to, code_verifier, user_id)
    sealed = state.seal()
    try:
        url = backends.authorization_url(provider, state, sealed, callback_url(request))
    except backends.ProviderFailed as exc:
        logger.warning("third-party start failed for %s: %s", provider.id, exc)
        raise StartRefused("provider failed", technical=True) from exc
    return Started(authorization_url=url, sealed_state=sealed)


def finish(
    query: dict[str, str], cookie: str | None, request: HttpRequest | None, env: RequestFacts
) -> str | None:
    """Where the browser goes after the callback (None: no target is known at all)."""
    sealed = query.get("state", "")
    peeked = peek(sealed)
    target = (
        peeked.redirect_to
        if peeked is not None and redirects.is_allowed(peeked.redirect_to)
        else settings.THIRD_PARTY.ERROR_REDIRECT_URL
    )

    def fail(code: str, description: str, *, cause: str = "") -> str | None:
        if code != "server_error":
            audit.record(
                audit.THIRDPARTY_SIGNIN_SIGNUP_FAILED,
                env=env,
                error=f"{code}: {description}",
                details={"provider": peeked.provider if peeked else None},
            )
        else:
            logger.warning("third-party callback failed: %s", cause or description)
        if not target:
            return None
        return add_query(target, {"error": code, "error_description": description})

    try:
        state = open_state(sealed, cookie=cookie)
        consume(state)  # any callback with a good state uses it up, even a provider's error
    except InvalidState as exc:
        return fail("invalid_request", f"invalid state: {exc}")
    except StateUnchecked as exc:
        return fail("server_error", SERVER_ERROR_DESCRIPTION, cause=f"state store: {exc}")
    if query.get("error"):
        description = query.get("error_description") or query["error"]
        return fail(query["error"][:64], description[:256])
    if not query.get("code"):
        return fail("invalid_request", "auth code missing from request")
    if not redirects.is_allowed(state.redirect_to):
        return fail("invalid_request", "redirect_to is not allowed any more")
    provider = providers.get(state.provider)
    if provider is None:
        return fail("invalid_request", f"provider {state.provider} is disabled")
    try:
        person = backends.complete(provider, state, sealed, callback_url(request), data=dict(query))
    except backends.ProviderFailed as exc:
        if exc.code == "unverified_email":
            return fail(exc.code, "third party provider email must be verified")
        return fail("server_error", SERVER_ERROR_DESCRIPTION, cause=str(exc))
    try:
        with transaction.atomic():
            if state.user_id:
                linked = identities.connect(provider, person, state.user_id, env=env)
            else:
                linked = linking.resolve(provider, person, env=env)
            token = tokens.issue(
                linked.account,
                linked.identity,
                user_created=linked.user_created,
                code_verifier=state.code_verifier,
            )
    except linking.LinkRefused as exc:
        return fail(exc.code, exc.description)
    return add_query(state.redirect_to, {"hanko_token": token})


def add_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` added to its query (replacing keys of the same name)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
