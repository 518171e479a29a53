"""Django HTTP plumbing shared by both transports (``api/`` JSON, ``web/`` HTML): the request
facts of a step, running a flow step and turning its result into a response, telling a database
outage from a bug."""
