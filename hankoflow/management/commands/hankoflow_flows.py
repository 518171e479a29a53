"""``manage.py hankoflow_flows``: look at flows from a terminal.

``list`` shows recent flows (``--flow``, ``--state``, ``--outcome``, ``--user``, ``--limit``);
``show FLOW_ID`` prints one flow's timeline and its redacted stash; ``graph FLOW`` prints the
declared states and the actions the current settings offer as Mermaid or Graphviz DOT;
``simulate FLOW --email ADDRESS`` walks a sign-in for an existing user and prints the states that
user would meet, inside a transaction that is rolled back: no row stays, no email leaves.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings as django_settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.test import RequestFactory
from django.test.utils import override_settings

from hankoflow import clock, names, steps
from hankoflow.engine import ActionSetup, FlowDefinition, FlowEngine, FlowResult, HistoryItem, Stash
from hankoflow.flows.registry import FLOWS
from hankoflow.http.request import request_env
from hankoflow.models import Flow
from hankoflow.services import accounts, flow_inspection
from hankoflow.services.flow_store import DjangoFlowStore

STATE_REFERENCE = re.compile(r"\bSTATE_[A-Z_]+\b")
CALLED_NAME = re.compile(r"\b([a-z_][a-z0-9_]*)\(")
SIMULATED_USER_AGENT = "manage.py hankoflow_flows simulate"
MAX_SIMULATION_DEPTH = 6


class Command(BaseCommand):
    help = "List flows, show one flow's timeline, draw a flow's graph or simulate a sign-in."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")

        listing = sub.add_parser("list", help="recent flows, newest first")
        listing.add_argument("--flow", choices=sorted(FLOWS), help="only flows of this name")
        listing.add_argument("--state", help="only flows now in this state")
        listing.add_argument(
            "--outcome", choices=sorted(flow_inspection.OUTCOMES), help="only this outcome"
        )
        listing.add_argument("--user", metavar="EMAIL", help="only flows of this user")
        listing.add_argument("--limit", type=int, default=20, help="rows to print (default 20)")

        show = sub.add_parser("show", help="one flow's timeline and redacted stash")
        show.add_argument("flow_id", metavar="FLOW_ID")

        graph = sub.add_parser("graph", help="states and actions the current settings offer")
        graph.add_argument("flow", choices=sorted(FLOWS))
        graph.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")

        simulate = sub.add_parser(
            "simulate", help="the states an existing user would meet; nothing is sent or kept"
        )
        simulate.add_argument("flow", choices=[names.FLOW_LOGIN])
        simulate.add_argument("--email", required=True, help="an address of an existing user")
        simulate.add_argument(
            "--no-webauthn",
            action="store_true",
            help="simulate a browser without passkey support",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, f"handle_{options['subcommand']}")
        handler(**options)

    # --- list and show -------------------------------------------------------------------------

    def handle_list(self, **options: Any) -> None:
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        user = None
        if options["user"]:
            account = accounts.find_by_email(options["user"])
            if account is None:
                raise CommandError(f"no user has the address {options['user']!r}")
            user = account.user
        notice = flow_inspection.elsewhere()
        if notice:
            self.stderr.write(notice)
        rows = flow_inspection.recent(
            name=options["flow"], state=options["state"], outcome=options["outcome"], user=user
        ).defer("stash", "history")[: options["limit"]]
        now = clock.now()
        count = 0
        for flow in rows:
            count += 1
            outcome = flow_inspection.OUTCOMES[flow_inspection.outcome_of(flow, now)]
            who = str(flow.user) if flow.user_id else "-"
            self.stdout.write(
                f"{flow.id}  {flow.created_at:%Y-%m-%d %H:%M:%S}  {flow.name:<13} "
                f"{flow.state:<32} {outcome:<11}  {who}"
            )
        if not count:
            self.stdout.write("no flows match")

    def handle_show(self, **options: Any) -> None:
        try:
            flow_id = uuid.UUID(options["flow_id"])
        except ValueError:
            raise CommandError(f"{options['flow_id']!r} is not a flow id (a UUID)") from None
        flow = flow_inspection.stored(str(flow_id))
        if flow is None:
            raise CommandError(f"no flow {flow_id}")
        outcome = flow_inspection.OUTCOMES[flow_inspection.outcome_of(flow)]
        self.stdout.write(f"{flow.name} flow {flow.id}: {flow.state} ({outcome})")
        self.stdout.write(f"user: {flow.user if flow.user_id else '-'}")
        created = f"{flow.created_at:%Y-%m-%d %H:%M:%S}" if flow.created_at else "?"
        self.stdout.write(f"created {created}, expires {flow.expires_at}")
        self.stdout.write("")
        for step in flow_inspection.timeline(flow):
            inputs = f" [{step.inputs}]" if step.inputs else ""
            error = f"  error {step.error}" if step.error else ""
            self.stdout.write(
                f"{step.at}  {step.from_state} --{step.action}{inputs}--> {step.to_state}{error}"
            )
            if step.ip or step.user_agent:
                self.stdout.write(f"    from {step.ip or '?'}  {step.user_agent}")
        self.stdout.write("")
        self.stdout.write("stash (secrets redacted):")
        for key, value in flow_inspection.redact_stash(
            (flow.stash or {}).get("data") or {}
        ).items():
            self.stdout.write(f"  {key}: {value}")
        emails = list(flow_inspection.emails_of(flow))
        self.stdout.write("")
        self.stdout.write("emails:" if emails else "emails: none queued by this flow")
        for row in emails:
            sent = f" at {row.sent_at}" if row.sent_at else ""
            error = f" ({row.last_error})" if row.last_error else ""
            self.stdout.write(f"  {row.kind} to {row.to}: {row.status}{sent}{error}")

    # --- graph ---------------------------------------------------------------------------------

    def handle_graph(self, **options: Any) -> None:
        definition = FLOWS[options["flow"]]
        edges = offered_edges(definition)
        lines = to_dot(definition, edges) if options["format"] == "dot" else to_mermaid(edges)
        self.stdout.write("\n".join(lines))

    # --- simulate ------------------------------------------------------------------------------

    def handle_simulate(self, **options: Any) -> None:
        address = accounts.normalise_email(options["email"])
        if not accounts.email_exists(address):
            raise CommandError(f"no user has the address {address!r}; simulate needs one")
        capabilities = {names.STASH_WEBAUTHN_AVAILABLE: not options["no_webauthn"]}
        for line in simulate_login(address, capabilities):
            self.stdout.write(line)


# --- the shape of a flow ----------------------------------------------------------------------


def offered_edges(definition: FlowDefinition) -> list[tuple[str, str, str]]:
    """``(state, action, target)`` for every action the current settings can offer.

    An action counts as offered when it is not suspended for a user who has everything (a
    password, passkeys, TOTP, emails, a browser with WebAuthn): what is still suspended then is
    switched off by settings. Targets are the ``STATE_*`` names an action's code continues to
    (read from its source and the helpers it calls); ``(next)`` means the scheduled state.
    """
    edges = []
    for state in definition.states.values():
        for action_type in state.actions:
            if not _offered(definition, state.name, action_type):
                continue
            targets = _targets(action_type) or ["(next)"]
            if action_type.name == "back":
                targets = ["(previous)"]
            edges.extend((state.name, action_type.name, target) for target in targets)
    return edges


def _offered(definition: FlowDefinition, state: str, action_type: type) -> bool:
    data: dict[str, Any] = dict.fromkeys(
        (key for key in names.STASH_SHOWN if key.startswith(("user_has", "user_hat", "webauthn"))),
        True,
    )
    data.update({names.STASH_EMAIL: "someone@example.com", names.STASH_USER_ID: str(uuid.uuid4())})
    data[names.STASH_SECURITY_KEY_ATTACHMENT_SUPPORTED] = True
    stash = Stash(state=state, data=data)
    stash.history.append(HistoryItem("previous", None, [], {}, revertible=True))
    setup = ActionSetup(definition, str(uuid.uuid4()), stash, None, {})
    action_type().initialize(setup)
    return not setup.suspended


def _targets(action_type: type) -> list[str]:
    module = inspect.getmodule(action_type)
    sources = [inspect.getsource(action_type)]
    for called in set(CALLED_NAME.findall(sources[0])):
        for owner in (module, steps):
            helper = getattr(owner, called, None)
            if inspect.isfunction(helper):
                sources.append(inspect.getsource(helper))
    found: list[str] = []
    for source in sources:
        for constant in STATE_REFERENCE.findall(source):
            value = getattr(names, constant, None)
            if isinstance(value, str) and value not in found:
                found.append(value)
    return found


def to_mermaid(edges: list[tuple[str, str, str]]) -> list[str]:
    lines = ["stateDiagram-v2"]
    for state, action, target in edges:
        lines.append(f"    {_node(state)} --> {_node(target)}: {action}")
    return lines


def to_dot(definition: FlowDefinition, edges: list[tuple[str, str, str]]) -> list[str]:
    lines = [f'digraph "{definition.name}" {{', "    rankdir=LR;"]
    for initial in definition.initial_states[:1]:
        lines.append(f'    "{initial}" [shape=doublecircle];')
    for state, action, target in edges:
        lines.append(f'    "{state}" -> "{target}" [label="{action}"];')
    lines.append("}")
    return lines


def _node(state: str) -> str:
    return {"(next)": "next_scheduled", "(previous)": "previous_state"}.get(state, state)


# --- a simulated sign-in ----------------------------------------------------------------------


class _Rollback(Exception):
    """Raised to leave the simulation's transaction without keeping anything."""


@contextmanager
def _nothing_kept() -> Iterator[None]:
    """Run inside a transaction that is rolled back (its on-commit emails are dropped with it),
    with rate limits off so the simulation spends no one's attempts."""
    overrides = dict(getattr(django_settings, "HANKOFLOW", {}) or {})
    overrides["RATE_LIMITER"] = {**overrides.get("RATE_LIMITER", {}), "ENABLED": False}
    with override_settings(HANKOFLOW=overrides):
        try:
            with transaction.atomic():
                yield
                raise _Rollback
        except _Rollback:
            pass


def simulate_login(address: str, capabilities: dict[str, Any]) -> list[str]:
    """The states a login by ``address`` meets, following every action that needs no input."""
    request = RequestFactory().post("/login", HTTP_USER_AGENT=SIMULATED_USER_AGENT)
    env = request_env(request)
    engine = FlowEngine(FLOWS[names.FLOW_LOGIN], DjangoFlowStore(), now=clock.now)
    lines: list[str] = []
    with _nothing_kept():
        result = engine.start(env)
        lines.append(_describe(0, "(start)", result))
        result = _act(engine, result, names.ACTION_REGISTER_CLIENT_CAPABILITIES, capabilities, env)
        lines.append(_describe(1, names.ACTION_REGISTER_CLIENT_CAPABILITIES, result))
        result = _act(
            engine, result, names.ACTION_CONTINUE_WITH_LOGIN_IDENTIFIER, {"email": address}, env
        )
        lines.append(_describe(2, names.ACTION_CONTINUE_WITH_LOGIN_IDENTIFIER, result))
        _explore(engine, result, env, 3, lines, seen={result.state})
    lines.append("(simulated: nothing was kept and no email was sent)")
    return lines


def _act(
    engine: FlowEngine, result: FlowResult, action: str, inputs: dict[str, Any], env: Any
) -> FlowResult:
    return engine.execute(f"{action}@{result.flow_id}", inputs, result.csrf_token, env)


def _explore(
    engine: FlowEngine, result: FlowResult, env: Any, depth: int, lines: list[str], seen: set[str]
) -> None:
    """Try each offered action without inputs in a savepoint, then undo it, depth first."""
    if depth > MAX_SIMULATION_DEPTH:
        return
    for view in result.actions:
        if view.name == "back" or any(item.required for item in view.inputs):
            continue
        try:
            with transaction.atomic():
                after = _act(engine, result, view.name, {}, env)
                if not after.is_early_error and after.state not in seen:
                    lines.append(_describe(depth, view.name, after))
                    _explore(engine, after, env, depth + 1, lines, seen | {after.state})
                raise _Rollback
        except _Rollback:
            pass


def _describe(depth: int, action: str, result: FlowResult) -> str:
    offered = ", ".join(view.name for view in result.actions) or "-"
    error = f"  error {result.error.code}" if result.error else ""
    line = f"{'  ' * depth}{action} -> {result.state}{error}  (offers: {offered})"
    stash = Flow.objects.filter(id=result.flow_id).values_list("stash", flat=True).first()
    scheduled = (stash or {}).get("scheduled") or []
    return f"{line}; then: {', '.join(scheduled)}" if scheduled else line
