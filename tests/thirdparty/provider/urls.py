from django.contrib.auth import authenticate, login
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import include, path
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def login_view(request):
    """Test-only sign-in: POST username and password, then back to ``next``."""
    if request.method != "POST":
        return HttpResponse(
            format_html(
                '<h1>Local provider</h1><form method="post">'
                '<input name="username" aria-label="Username">'
                '<input name="password" type="password" aria-label="Password">'
                '<input type="hidden" name="next" value="{}">'
                '<button type="submit">Sign in</button></form>',
                request.GET.get("next", "/"),
            )
        )
    user = authenticate(
        request, username=request.POST.get("username"), password=request.POST.get("password")
    )
    if user is None:
        return HttpResponseBadRequest("wrong credentials")
    login(request, user)
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        target = "/"
    return HttpResponseRedirect(target)


urlpatterns = [
    path("login/", login_view),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
