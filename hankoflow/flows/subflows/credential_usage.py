"""``credential_usage``: how an existing user proves who they are (flow-api.md §4.0.2).

Only the actions built so far are declared; README "Not built yet" lists the rest.
"""

from hankoflow.actions.shared import RememberMe
from hankoflow.engine import SubFlow
from hankoflow.flows import names

credential_usage = SubFlow(names.SUBFLOW_CREDENTIAL_USAGE).state(names.STATE_LOGIN_INIT, RememberMe)
