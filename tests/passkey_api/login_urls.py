"""A host project that keeps its own login: Django's LoginView (with the passkey mixin) at
``/login/``, a signed-in home page with "Add a passkey", the Passkey API under ``/passkeys/``
and the contrib endpoints under ``/account/passkeys/``."""

from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

from hankoflow.contrib.passkeys.views import PasskeyLoginView

HOME = engines["django"].from_string(
    "<!doctype html><html><body>"
    "{% if user.is_authenticated %}<p id='who'>Signed in as {{ user.get_username }}</p>"
    "{% include 'hankoflow_passkeys/register_button.html' %}"
    "<form method='post' action='/logout/'>{% csrf_token %}<button>Sign out</button></form>"
    "{% else %}<p id='who'>Signed out</p>{% endif %}"
    "</body></html>"
)


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse(HOME.render({}, request))


urlpatterns = [
    path(
        "login/",
        PasskeyLoginView.as_view(template_name="hankoflow_passkeys/login.html"),
        name="login",
    ),
    path("logout/", LogoutView.as_view(next_page="/login/"), name="logout"),
    path("home/", home, name="home"),
    path("passkeys/", include("hankoflow.api.passkeys.urls")),
    path("account/passkeys/", include("hankoflow.contrib.passkeys.urls")),
]
