"""The peer's routes: allauth's headless API and the bench's reference views.

``bench/user`` is the peer's stateless JWT check: a DRF view authenticated by allauth's
``JWTTokenAuthentication`` (``Authorization: Bearer <access token>``) answering the user's id,
as ``bench.baseline.user`` does on hankoflow's side. ``bench/hello`` is the same request path
with no token and no database.
"""

from allauth.headless.contrib.rest_framework.authentication import JWTTokenAuthentication
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.views import APIView


class UserView(APIView):
    authentication_classes = [JWTTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    def post(self, request: Request) -> JsonResponse:
        return JsonResponse({"user_id": request.user.pk})


@csrf_exempt
def hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse({})


urlpatterns = [
    path("bench/hello", hello),
    path("bench/user", UserView.as_view()),
    path("_allauth/", include("allauth.headless.urls")),
]
