"""``OTPSecretGenerate``: before ``mfa_otp_secret_creation``, a TOTP secret and its QR code
(flow-api.md §4.0.5)."""

from __future__ import annotations

from hankoflow import names as n
from hankoflow.engine import FlowContext, Hook
from hankoflow.services import totp
from hankoflow.steps import enrolment_secret, stash_enrolment_secret


class OTPSecretGenerate(Hook):
    def run(self, ctx: FlowContext) -> None:
        if not ctx.stash.get(n.STASH_OTP_SECRET):
            account_name = ctx.stash.get(n.STASH_EMAIL) or ctx.stash.get(n.STASH_USERNAME)
            if not account_name:
                raise RuntimeError("a TOTP secret needs an email or username to be named after")
            secret = totp.new_secret()
            request = ctx.env.request if ctx.env else None
            uri = totp.provisioning_uri(secret, account_name, request=request)
            stash_enrolment_secret(ctx, secret)
            ctx.stash.set(n.STASH_OTP_IMAGE_SRC, totp.qr_data_uri(uri))
        ctx.payload["otp_secret"] = enrolment_secret(ctx)
        ctx.payload["otp_image_source"] = ctx.stash.get(n.STASH_OTP_IMAGE_SRC)
