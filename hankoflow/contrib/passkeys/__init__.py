"""Passkeys for a Django project that keeps its own login (docs/passkey-api.md, "Django").

- ``backends.PasskeyBackend``: ``authenticate(request, passkey_token=...)`` turns the token of a
  finalized Passkey API login into the Django user it names (once).
- ``views.PasskeyLoginMixin`` / ``views.PasskeyLoginView``: a ``LoginView`` that also accepts a
  ``passkey_token`` field; the snippet ``hankoflow_passkeys/login_button.html`` adds the "Sign in
  with a passkey" button (inline JS, no build).
- ``urls``: the signed-in user's "Add a passkey" endpoints (``register/options`` and
  ``register``) behind the snippet ``hankoflow_passkeys/register_button.html``.

The templates live in hankoflow's own template folder, so nothing is added to INSTALLED_APPS.
The browser calls the Passkey API's public login endpoints directly; the API key never leaves
the server (registration runs in these views, in-process).
"""
