"""Routes of the HTML pages; include at the root: ``path("", include("hankoflow.web.urls"))``.

``/`` is the generic flow page, ``/webauthn.js`` its WebAuthn script and ``/hankoflow.css`` the
pages' stylesheet; ``/elements/`` shows ``<hanko-auth>`` (its script is ``/elements/page.js``) and
``/elements/hanko-elements.js`` serves the web components' bundle. None of
them collides with the API routes of ``hankoflow.urls``.
"""

from django.urls import path

from hankoflow.web import views

app_name = "hankoflow_web"

urlpatterns = [
    path("", views.flow_page, name="flow"),
    path("webauthn.js", views.webauthn_script, name="webauthn-script"),
    path("hankoflow.css", views.stylesheet, name="stylesheet"),
    path("elements/", views.elements_page, name="elements"),
    path("elements/page.js", views.elements_script, name="elements-script"),
    path("elements/hanko-elements.js", views.elements_bundle, name="elements-bundle"),
]
