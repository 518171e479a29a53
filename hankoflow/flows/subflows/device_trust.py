"""``device_trust`` (login only): skip the second factor on this browser next time (§4.0.7)."""

from hankoflow.actions.device_trust import TrustDevice
from hankoflow.engine import Back, Skip, SubFlow
from hankoflow.flows import names as n

device_trust = SubFlow(n.SUBFLOW_DEVICE_TRUST).state(n.STATE_DEVICE_TRUST, TrustDevice, Skip, Back)
