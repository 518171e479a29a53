"""The SAML sign-in (platform.md §9.6): start it at an IdP, finish it at the callback.

``auth_url`` is where the login flow sends the browser for a SAML domain; ``start`` (behind
``GET /saml/auth``) answers the IdP's SSO URL with an AuthnRequest and the sealed state;
``finish`` (behind ``POST /saml/callback``) validates the response, links or creates the
account (services/thirdparty/linking.py, linking always allowed as for Hanko's SAML) and hands
a one-time token to ``redirect_to?hanko_token=...`` for ``exchange_token``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db import transaction

from hankoflow.conf import settings
from hankoflow.engine import RequestFacts
from hankoflow.services import audit
from hankoflow.services.saml import assertions, metadata, providers, sp
from hankoflow.services.saml import state as saml_state
from hankoflow.services.thirdparty import linking, redirects, tokens
from hankoflow.services.thirdparty.dance import SERVER_ERROR_DESCRIPTION, add_query
from hankoflow.services.thirdparty.providers import Provider

logger = logging.getLogger("hankoflow.saml")


class StartRefused(Exception):
    """``GET /saml/auth`` cannot go on: ``code`` and ``description`` go to the error redirect."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True)
class Started:
    location: str


@dataclass(frozen=True)
class Finished:
    location: str | None  # None: no target is known at all
    succeeded: bool = False


def is_allowed(url: str) -> bool:
    """``SAML.ALLOWED_REDIRECT_URLS`` plus ``SAML.DEFAULT_REDIRECT_URL``.

    Hanko: plain glob matching for SAML; we apply the third-party host-boundary rules too.
    """
    patterns = [p for p in settings.SAML.ALLOWED_REDIRECT_URLS if p]
    if settings.SAML.DEFAULT_REDIRECT_URL:
        patterns.append(settings.SAML.DEFAULT_REDIRECT_URL)
    return redirects.is_allowed(url, patterns)


def auth_url(domain: str) -> str:
    """``GET /saml/auth`` for ``domain``, back to ``SAML.DEFAULT_REDIRECT_URL`` (the login flow's
    redirect for a SAML email domain)."""
    query = urlencode({"domain": domain, "redirect_to": settings.SAML.DEFAULT_REDIRECT_URL})
    return f"{sp.endpoint_url()}/saml/auth?{query}"


def start(domain: str, redirect_to: str) -> Started:
    """The IdP's SSO URL with a (signed, if configured) AuthnRequest and the sealed state."""
    if not providers.is_fqdn(domain):
        raise StartRefused("invalid_request", "domain is not a fully qualified domain name")
    if not is_allowed(redirect_to):
        raise StartRefused("invalid_request", "redirect_to is not allowed")
    provider = providers.by_domain(domain)
    if provider is None:
        raise StartRefused("invalid_request", f"no SAML provider for {domain.lower()}")
    try:
        client = sp.client(provider)
        from saml2 import BINDING_HTTP_REDIRECT  # installed: sp.client would have said otherwise
        from saml2.xmldsig import SIG_RSA_SHA256

        idp = metadata.entity_id(provider)
        options = settings.SAML.OPTIONS
        sign = bool(options.SIGN_AUTHN_REQUESTS)
        # Our own request id, so that the state (which holds it) can be the signed RelayState.
        request_id = "_" + secrets.token_hex(20)
        relay_state = saml_state.State.new(provider.domain, redirect_to, request_id).issue()
        _, info = client.prepare_for_authenticate(
            entityid=idp,
            relay_state=relay_state,
            binding=BINDING_HTTP_REDIRECT,
            sign=sign,
            sigalg=SIG_RSA_SHA256 if sign else None,
            force_authn="true" if options.FORCE_LOGIN else None,
            message_id=request_id,
        )
    except (metadata.MetadataUnavailable, sp.NotConfigured) as exc:
        logger.warning("SAML start for %s failed: %s", domain, exc)
        raise StartRefused("server_error", SERVER_ERROR_DESCRIPTION) from exc
    except Exception as exc:  # pysaml2: no SSO service with the redirect binding, and the like
        logger.warning("SAML start for %s failed: %s: %s", domain, type(exc).__name__, exc)
        raise StartRefused("server_error", SERVER_ERROR_DESCRIPTION) from exc
    return Started(location=dict(info["headers"])["Location"])


def finish(form: dict[str, str], env: RequestFacts) -> Finished:
    """Where the browser goes after ``POST /saml/callback``."""
    relay_state = form.get("RelayState", "")
    saml_response = form.get("SAMLResponse", "")
    sp_initiated = saml_state.is_sp_initiated(relay_state)
    peeked = saml_state.peek(relay_state) if sp_initiated else None
    target = settings.SAML.DEFAULT_REDIRECT_URL
    if peeked is not None and is_allowed(peeked.redirect_to):
        target = peeked.redirect_to
    provider_name = {"provider": peeked.domain if peeked else None}

    def fail(code: str, description: str, *, cause: str = "") -> Finished:
        if code != "server_error":
            audit.record(
                audit.THIRDPARTY_SIGNIN_SIGNUP_FAILED,
                env=env,
                error=f"{code}: {description}",
                details=provider_name,
            )
        else:
            logger.warning("SAML callback failed: %s", cause or description)
        if not target:
            return Finished(None)
        return Finished(add_query(target, {"error": code, "error_description": description}))

    try:
        if sp_initiated:
            try:
                state = saml_state.redeem(relay_state)
            except saml_state.InvalidState as exc:
                return fail("invalid_request", f"invalid state: {exc}")
            if not is_allowed(state.redirect_to):
                return fail("invalid_request", "redirect_to is not allowed any more")
            provider = providers.by_domain(state.domain)
            if provider is None:
                return fail("invalid_request", f"no SAML provider for {state.domain}")
            verified = assertions.verify(provider, saml_response, request_id=state.request_id)
            redirect_to, extra = state.redirect_to, {}
        else:
            issuer = assertions.issuer_of(saml_response)
            provider = assertions.provider_for_issuer(issuer) if issuer else None
            if provider is None:
                return fail("invalid_request", "no SAML provider for the response's issuer")
            verified = assertions.verify(provider, saml_response, request_id=None)
            if not assertions.first_use(verified):
                return fail("invalid_request", "the response was used before")
            if not target:
                return fail("invalid_request", "SAML.DEFAULT_REDIRECT_URL is not set")
            redirect_to, extra = target, {"saml_hint": "idp_initiated"}
        provider_name["provider"] = verified.entity_id
    except assertions.AssertionRefused as exc:
        return fail("invalid_request", str(exc))
    except (metadata.MetadataUnavailable, sp.NotConfigured) as exc:
        return fail("server_error", SERVER_ERROR_DESCRIPTION, cause=str(exc))
    except Exception as exc:  # the cache (state nonce, replay guard, metadata) unreachable, ...
        cause = f"{type(exc).__name__}: {exc}"
        return fail("server_error", SERVER_ERROR_DESCRIPTION, cause=cause)
    as_provider = Provider(
        id=verified.entity_id,
        display_name=verified.provider.name,
        client_id="",
        secret="",
        allow_linking=True,  # Hanko: linking is always allowed for SAML
    )
    try:
        with transaction.atomic():
            linked = linking.resolve(as_provider, verified.person, env=env)
            token = tokens.issue(
                linked.account, linked.identity, user_created=linked.user_created, code_verifier=""
            )
    except linking.LinkRefused as exc:
        return fail(exc.code, exc.description)
    return Finished(add_query(redirect_to, {"hanko_token": token, **extra}), succeeded=True)
