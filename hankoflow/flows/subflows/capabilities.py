"""``capabilities``: the ``preflight`` state where the client reports what the browser can do."""

from hankoflow import names
from hankoflow.actions.capabilities import RegisterClientCapabilities
from hankoflow.engine import SubFlow

capabilities = SubFlow(names.SUBFLOW_CAPABILITIES).state(
    names.STATE_PREFLIGHT, RegisterClientCapabilities
)
