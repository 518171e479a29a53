"""Test settings with ``custom_user.HandleUser`` (no email column) as ``AUTH_USER_MODEL``."""

from tests.custom_user.settings import *  # noqa: F403
from tests.custom_user.settings import DATABASES

AUTH_USER_MODEL = "custom_user.HandleUser"

if not DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_handle_user"}
