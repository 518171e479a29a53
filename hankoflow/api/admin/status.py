"""Admin API: status (issue 14 in progress)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
