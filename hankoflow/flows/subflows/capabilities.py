"""``capabilities``: the ``preflight`` state where the client reports what the browser can do."""

from hankoflow.actions.capabilities import RegisterClientCapabilities
from hankoflow.engine import SubFlow
from hankoflow.flows import names

capabilities = SubFlow(names.SUBFLOW_CAPABILITIES).state(
    names.STATE_PREFLIGHT, RegisterClientCapabilities
)
