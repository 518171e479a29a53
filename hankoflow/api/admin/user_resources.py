"""Admin API: user_resources (issue 14 in progress)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
