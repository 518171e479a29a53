"""Routes of the HTML pages; include at the root: ``path("", include("hankoflow.web.urls"))``.

``/`` is the generic flow page and ``/webauthn.js`` its WebAuthn script, ``/elements/`` shows
``<hanko-auth>`` and ``/elements/hanko-elements.js`` serves the web components' bundle. None of
them collides with the API routes of ``hankoflow.urls``.
"""

from django.urls import path

from hankoflow.web import views

app_name = "hankoflow_web"

urlpatterns = [
    path("", views.flow_page, name="flow"),
    path("webauthn.js", views.webauthn_script, name="webauthn-script"),
    path("elements/", views.elements_page, name="elements"),
    path("elements/hanko-elements.js", views.elements_bundle, name="elements-bundle"),
]
