"""``OTPSecretGenerate``: before ``mfa_otp_secret_creation``, a TOTP secret and its QR code
(flow-api.md §4.0.5)."""

from __future__ import annotations

from hankoflow.actions.mfa_creation import OTP_SECRET_PURPOSE, enrolment_secret
from hankoflow.engine import FlowContext, Hook
from hankoflow.flows import names as n
from hankoflow.services import crypto, totp


class OTPSecretGenerate(Hook):
    def run(self, ctx: FlowContext) -> None:
        if not ctx.stash.get(n.STASH_OTP_SECRET):
            account_name = ctx.stash.get(n.STASH_EMAIL) or ctx.stash.get(n.STASH_USERNAME)
            if not account_name:
                raise RuntimeError("a TOTP secret needs an email or username to be named after")
            secret = totp.new_secret()
            uri = totp.provisioning_uri(secret, account_name)
            # The secret waits in the stash until enrolment succeeds: encrypted, like at rest.
            ctx.stash.set(n.STASH_OTP_SECRET, crypto.encrypt(secret, OTP_SECRET_PURPOSE))
            ctx.stash.set(n.STASH_OTP_IMAGE_SRC, totp.qr_data_uri(uri))
        ctx.payload["otp_secret"] = enrolment_secret(ctx)
        ctx.payload["otp_image_source"] = ctx.stash.get(n.STASH_OTP_IMAGE_SRC)
