"""hankoflow's models, one module per aggregate."""

from hankoflow.models.accounts import Account, Email, Username
from hankoflow.models.api_keys import ApiKey
from hankoflow.models.attempts import AttemptBudget
from hankoflow.models.audit import AuditLogEntry
from hankoflow.models.flows import Flow
from hankoflow.models.identities import ExchangeToken, Identity
from hankoflow.models.invitations import Invitation
from hankoflow.models.mfa import OTPSecret, TrustedDevice
from hankoflow.models.outbox import OutboxEmail
from hankoflow.models.passcodes import Passcode
from hankoflow.models.sessions import Session, SigningKey
from hankoflow.models.webauthn import WebauthnChallenge, WebauthnCredential
from hankoflow.models.webhooks import Webhook, WebhookAttempt, WebhookDelivery

__all__ = [
    "Account",
    "Email",
    "Username",
    "Flow",
    "Passcode",
    "AttemptBudget",
    "AuditLogEntry",
    "OutboxEmail",
    "Session",
    "SigningKey",
    "WebauthnChallenge",
    "WebauthnCredential",
    "OTPSecret",
    "TrustedDevice",
    "Identity",
    "ExchangeToken",
    "ApiKey",
    "Webhook",
    "WebhookDelivery",
    "WebhookAttempt",
    "Invitation",
]
