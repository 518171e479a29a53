"""``device_trust`` (login only): skip the second factor on this browser next time (§4.0.7)."""

from hankoflow import names as n
from hankoflow.actions.device_trust import TrustDevice
from hankoflow.engine import Back, Skip, SubFlow

device_trust = SubFlow(n.SUBFLOW_DEVICE_TRUST).state(n.STATE_DEVICE_TRUST, TrustDevice, Skip, Back)
