"""Bench URLconf: the project's routes plus the reference views of ``bench.baseline``."""

from django.urls import include, path

from bench import baseline
from project.urls import handler404, handler500  # noqa: F401  (Django reads them from here)

urlpatterns = [
    path("bench/baseline/<uuid:flow_id>", baseline.select_update, name="bench-baseline"),
    path("bench/hello", baseline.hello, name="bench-hello"),
    path("bench/user", baseline.user, name="bench-user"),
    path("bench/hasher", baseline.hasher, name="bench-hasher"),
    path("", include("project.urls")),
]
