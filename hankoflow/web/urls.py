"""Routes of the HTML pages; include at the root: ``path("", include("hankoflow.web.urls"))``.

``/`` is the generic flow page, ``/webauthn.js`` its WebAuthn script and ``/hankoflow.css`` the
pages' stylesheet; ``/elements/`` shows ``<hanko-auth>`` (its script is ``/elements/page.js``) and
``/elements/hanko-elements.js`` serves the web components' bundle. ``/elements/profile/`` shows
``<hanko-profile>`` to a signed-in person and ``<hanko-auth>`` otherwise (its script is
``/elements/profile/page.js``). None of them collides with the API routes of ``hankoflow.urls``.
"""

from django.urls import path

from hankoflow.web import elements_page, files, flow_page

app_name = "hankoflow_web"

urlpatterns = [
    path("", flow_page.flow_page, name="flow"),
    path("webauthn.js", files.webauthn_script, name="webauthn-script"),
    path("hankoflow.css", files.stylesheet, name="stylesheet"),
    path("elements/", elements_page.elements_page, name="elements"),
    path("elements/page.js", files.elements_script, name="elements-script"),
    path("elements/hanko-elements.js", elements_page.elements_bundle, name="elements-bundle"),
    path("elements/profile/", elements_page.elements_profile_page, name="elements-profile"),
    path(
        "elements/profile/page.js",
        files.elements_profile_script,
        name="elements-profile-script",
    ),
]
