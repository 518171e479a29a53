// WebAuthn for hankoflow's server-rendered flow page: the steps hanko-elements takes with
// JavaScript (flow-api.md §1.11), done on plain HTML forms. The design is described in
// hankoflow/web/webauthn.py; the profile's passkey states use it unchanged. The page tells this
// script what to do in a JSON block:
//   {"ceremony": "capabilities" | "create" | "get" | "conditional",
//    "action": <the form to submit>, "field": <its input to fill>,
//    "options": {"publicKey": {...}}, "auto": <start without a click>}
// Options arrive with base64url strings for binary values; responses go back serialised like
// @github/webauthn-json (client-contract.md §7).
"use strict";

(() => {
  const configNode = document.getElementById("webauthn-options");
  if (!configNode) return;
  const config = JSON.parse(configNode.textContent);
  const status = document.getElementById("webauthn-status");
  const startButton = document.getElementById("webauthn-start");

  // Forms carry data-action="<action name>". Use setAttribute for a form's URL: each form has
  // an input named "action", which shadows the form.action property.
  const formFor = (action) => document.querySelector(`form[data-action="${action}"]`);

  // --- base64url <-> ArrayBuffer ---------------------------------------------------------------
  const toBuffer = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer;
  };
  const toBase64url = (buffer) => {
    let binary = "";
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const descriptors = (list) => list && list.map((item) => ({ ...item, id: toBuffer(item.id) }));

  function creationOptions(options) {
    const pk = options.publicKey;
    return {
      publicKey: {
        ...pk,
        challenge: toBuffer(pk.challenge),
        user: { ...pk.user, id: toBuffer(pk.user.id) },
        excludeCredentials: descriptors(pk.excludeCredentials),
      },
    };
  }

  function requestOptions(options) {
    const pk = options.publicKey;
    return {
      publicKey: {
        ...pk,
        challenge: toBuffer(pk.challenge),
        allowCredentials: descriptors(pk.allowCredentials),
      },
    };
  }

  // A PublicKeyCredential as JSON (the shape of @github/webauthn-json 2.1.1, "basic" schema).
  function credentialJSON(credential) {
    const r = credential.response;
    const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      response.userHandle = r.userHandle ? toBase64url(r.userHandle) : null;
    }
    const json = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response,
      clientExtensionResults: credential.getClientExtensionResults(),
    };
    if (credential.authenticatorAttachment) {
      json.authenticatorAttachment = credential.authenticatorAttachment;
    }
    return json;
  }

  function submitResult(credential) {
    const form = formFor(config.action);
    form.elements[config.field].value = JSON.stringify(credentialJSON(credential));
    form.submit();
  }

  // Like Hanko's SDK: a failed ceremony goes back one step. The error's name rides along in the
  // query string so the next page can say what happened.
  function goBack(error) {
    const name = (error && error.name) || "Error";
    const back = formFor("back");
    if (!back) {
      showStatus(`${message("failed", "The passkey step failed:")} ${error}`);
      return;
    }
    back.setAttribute("action", `?webauthn_error=${encodeURIComponent(name)}`);
    back.submit();
  }

  // The page's translations of these texts (webauthn.py's script_messages), English otherwise.
  function message(key, fallback) {
    return (config.messages && config.messages[key]) || fallback;
  }

  function showStatus(text) {
    if (!status) return;
    status.textContent = text;
    status.hidden = false;
  }

  // --- the ceremonies --------------------------------------------------------------------------
  async function reportCapabilities() {
    const pkc = window.PublicKeyCredential;
    const ask = async (method) => {
      try {
        return Boolean(pkc && typeof pkc[method] === "function" && (await pkc[method]()));
      } catch {
        return false;
      }
    };
    const values = {
      webauthn_available: Boolean(pkc && navigator.credentials),
      webauthn_platform_authenticator_available: await ask(
        "isUserVerifyingPlatformAuthenticatorAvailable",
      ),
      webauthn_conditional_mediation_available: await ask("isConditionalMediationAvailable"),
    };
    const form = formFor(config.action);
    for (const [name, value] of Object.entries(values)) {
      if (form.elements[name]) form.elements[name].value = value ? "true" : "false";
    }
    form.submit();
  }

  async function ceremony() {
    if (startButton) startButton.disabled = true;
    showStatus(message("waiting", "Waiting for your passkey…"));
    let credential;
    try {
      credential =
        config.ceremony === "create"
          ? await navigator.credentials.create(creationOptions(config.options))
          : await navigator.credentials.get(requestOptions(config.options));
      if (!credential) throw new DOMException("No credential", "NotAllowedError");
    } catch (error) {
      goBack(error);
      return;
    }
    showStatus(message("checking", "Checking your passkey…"));
    submitResult(credential);
  }

  // Passkey autofill on login_init: the browser offers passkeys under the identifier field and
  // resolves only when the person picks one. Failures are silent: the form is still there.
  async function conditional() {
    const pkc = window.PublicKeyCredential;
    if (!pkc || typeof pkc.isConditionalMediationAvailable !== "function") return;
    if (!(await pkc.isConditionalMediationAvailable())) return;
    try {
      const options = requestOptions(config.options);
      const credential = await navigator.credentials.get({ ...options, mediation: "conditional" });
      if (credential) submitResult(credential);
    } catch (error) {
      if (error.name !== "AbortError") console.info("Passkey autofill ended:", error.name);
    }
  }

  if (config.ceremony === "capabilities") {
    reportCapabilities();
  } else if (config.ceremony === "conditional") {
    conditional();
  } else if (!window.PublicKeyCredential) {
    goBack(new DOMException("WebAuthn is not available", "NotSupportedError"));
  } else if (config.auto) {
    ceremony();
  } else if (startButton) {
    startButton.hidden = false; // after a failed attempt: the person starts the next one
    startButton.addEventListener("click", ceremony);
  }
})();
