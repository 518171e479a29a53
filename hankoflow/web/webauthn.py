"""What the flow page's one script, webauthn.js, does on a state: the page's WebAuthn side.

Everything works without JavaScript except what needs the browser's WebAuthn API. For that the
page loads one small static script, ``hankoflow/static/hankoflow/webauthn.js`` (no build step,
served by ``files.webauthn_script``), on the states that need it, and nowhere else. There is no
inline script or style anywhere, so the page's Content-Security-Policy allows only files from this
origin (``headers.py``):

* ``preflight``: the page renders the state like any other, as the ``register_client_capabilities``
  form whose three booleans are hidden fields preset to ``false``. The script asks the browser
  (``window.PublicKeyCredential``, ``isUserVerifyingPlatformAuthenticatorAvailable()``,
  ``isConditionalMediationAvailable()``), fills in the answers and submits the form, the
  auto-step hanko-elements takes (flow-api.md §1.11). Without JavaScript a ``<noscript>`` meta
  refresh loads ``?flow=<name>&nojs=1``, which starts a fresh flow and takes that step on the
  server with all three ``false`` (``views.AUTO_STEPS``; the abandoned preflight flow just
  expires). The form's visible Continue button, posting the ``false`` values, is the last resort
  for a browser that neither runs scripts nor follows meta refreshes. Reporting ``false`` hides
  every WebAuthn action, which is exactly right for a browser that cannot run them.
* A state whose payload has ``creation_options`` and that offers
  ``webauthn_verify_attestation_response`` (``onboarding_verify_passkey_attestation``; the
  profile's ``webauthn_credential_verification`` for a passkey or a security key): the script
  calls ``navigator.credentials.create()``, puts the credential, serialised like
  ``@github/webauthn-json`` (client-contract.md §7), into the hidden ``public_key`` field and
  submits that form. On any WebAuthn error it submits ``back`` instead, as Hanko's SDK does,
  with the error's name in the query string (``?webauthn_error=NotAllowedError``) so the page
  it lands on can say what happened.
* A state whose payload has ``request_options`` and that offers
  ``webauthn_verify_assertion_response``: ``login_passkey`` (also the profile's re-authentication)
  gets ``navigator.credentials.get()``
  and ``assertion_response`` the same way (``back`` on error); ``login_init`` starts a
  conditional (autofill) request instead, marks the identifier field
  ``autocomplete="username webauthn"`` and submits only when the person picks a passkey.

The options travel in a ``<script type="application/json" id="webauthn-options">`` block
(``webauthn_config``), so the script holds no flow knowledge beyond Hanko's input names. The
response forms are ``hidden``: only the script can fill them. A state that comes back with an
error does not start a ceremony by itself (no loops); it shows a button to try again.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from hankoflow import names

# Query parameter: the DOMException name webauthn.js reports when it had to give up on a
# ceremony and go ``back``.
PARAM_WEBAUTHN_ERROR = "webauthn_error"

# Actions whose inputs only webauthn.js can fill: action -> the input it fills (None: all of
# them). Their fields are hidden; the response forms are hidden as a whole.
SCRIPT_FILLED_INPUTS: dict[str, str | None] = {
    names.ACTION_REGISTER_CLIENT_CAPABILITIES: None,
    names.ACTION_WEBAUTHN_VERIFY_ATTESTATION_RESPONSE: "public_key",
    names.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE: "assertion_response",
}
WEBAUTHN_RESPONSE_ACTIONS = {
    names.ACTION_WEBAUTHN_VERIFY_ATTESTATION_RESPONSE,
    names.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE,
}

# What the page says after webauthn.js gave up (DOMException names, WebAuthn §6.3.2/§6.3.3).
WEBAUTHN_ERRORS = {
    "NotAllowedError": _("The passkey prompt was cancelled or timed out."),
    "InvalidStateError": _("This device already holds a passkey for your account."),
    "NotSupportedError": _("This browser or authenticator does not support what was asked."),
    "SecurityError": _(
        "The browser refused: this page’s address does not match the server’s passkey settings."
    ),
    "AbortError": _("The passkey prompt was interrupted."),
}
WEBAUTHN_ERROR_DEFAULT = _("The browser could not complete the passkey step.")


def script_messages() -> dict[str, str]:
    """What webauthn.js shows while it works, in the page's language."""
    return {
        "waiting": gettext("Waiting for your passkey…"),
        "checking": gettext("Checking your passkey…"),
        "failed": gettext("The passkey step failed:"),
    }


def webauthn_config(state: dict[str, Any]) -> dict[str, Any] | None:
    """What webauthn.js should do on this state, or None when the page needs no script.

    ``ceremony`` is ``capabilities`` (preflight), ``create``, ``get`` or ``conditional``;
    ``action`` and ``field`` name the form and the input the result goes into; ``options`` is
    the payload's ``{"publicKey": {...}}``; ``auto`` says whether to start right away.
    """
    actions = state.get("actions") or {}
    payload = state.get("payload") or {}
    if (
        state["name"] == names.STATE_PREFLIGHT
        and names.ACTION_REGISTER_CLIENT_CAPABILITIES in actions
    ):
        return {
            "ceremony": "capabilities",
            "action": names.ACTION_REGISTER_CLIENT_CAPABILITIES,
            "auto": True,
        }
    if isinstance(payload.get("creation_options"), dict):
        ceremony, options = "create", payload["creation_options"]
        action = names.ACTION_WEBAUTHN_VERIFY_ATTESTATION_RESPONSE
    elif isinstance(payload.get("request_options"), dict):
        # On login_init the options are for passkey autofill (flow-api.md §1.11).
        ceremony = "conditional" if state["name"] == names.STATE_LOGIN_INIT else "get"
        options = payload["request_options"]
        action = names.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE
    else:
        return None
    if action not in actions:
        return None
    return {
        "messages": script_messages(),
        "ceremony": ceremony,
        "action": action,
        "field": SCRIPT_FILLED_INPUTS[action],
        "options": options,
        # After a failed attempt the person starts the next one (no prompt loops).
        "auto": ceremony == "conditional" or not state.get("error"),
    }


def webauthn_error(request: HttpRequest) -> str:
    """The sentence for the ``?webauthn_error=`` webauthn.js reported, or ``""``."""
    name = request.GET.get(PARAM_WEBAUTHN_ERROR, "")
    if not name:
        return ""
    return str(WEBAUTHN_ERRORS.get(name, WEBAUTHN_ERROR_DEFAULT))


def script_filled(action: str, input_name: str) -> bool:
    """Whether only webauthn.js can fill this input of this action."""
    if action not in SCRIPT_FILLED_INPUTS:
        return False
    only = SCRIPT_FILLED_INPUTS[action]
    return only is None or only == input_name
