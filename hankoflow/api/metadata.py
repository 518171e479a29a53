"""DRF metadata that reveals nothing: ``OPTIONS`` gets an empty 200 with ``Allow``.

DRF answers ``OPTIONS`` with metadata built from the view: its name, its docstring, the media
types it parses. Docstrings are written for developers, not for the internet. hankoflow's own
views answer ``OPTIONS`` with an empty 204 as Hanko does (``PublicView.options``); a host project
makes its other DRF views quiet too with
``REST_FRAMEWORK["DEFAULT_METADATA_CLASS"] = "hankoflow.api.metadata.NoMetadata"``.
"""

from __future__ import annotations

from typing import Any

from rest_framework.metadata import BaseMetadata


class NoMetadata(BaseMetadata):
    def determine_metadata(self, request: Any, view: Any) -> None:
        return None
