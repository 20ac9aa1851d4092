"""The second factor's writes: enrol an authenticator app (TOTP) with one-time recovery codes, check a code,
remove a device, reset a user's devices. The pages (``views_account``) and the admin call these.

Devices are django-otp's: a ``TOTPDevice`` per authenticator app, and one ``RecoveryCodes`` device
(``registry.models``: each code kept as a salted hash, good once). Every step is audited with the client's
address.
"""

import re
import secrets

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from .audit import record
from .models import RECOVERY_HASHER, AuditAction, RecoveryCode, RecoveryCodes
from .signin import STATE_KEY, second_factor_required, sessions_end

RECOVERY_DEVICE = "recovery codes"
_TOTP_CODE = re.compile(r"[0-9]{6}")
# No 0/o, 1/l/i: a code is copied by hand. 31 symbols: a code's 10 secret characters hold 49 random bits.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_SECRET_LENGTH = 10


def authenticators(user):
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("pk")


def recovery_codes_left(user) -> int:
    return RecoveryCode.objects.filter(device__user=user, device__confirmed=True, used_at__isnull=True).count()


def totp_pending(user) -> TOTPDevice:
    """The authenticator being enrolled: the same secret until it is confirmed (a reload shows the same QR)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)
    return device


def _normal(code: str) -> str:
    return re.sub(r"[\s-]+", "", code or "").lower()


def _recovery_code() -> str:
    hint = RecoveryCodes.HINT
    return "".join(secrets.choice(_ALPHABET) for _n in range(hint + _SECRET_LENGTH))


def recovery_code_display(code: str) -> str:
    """``k7m-2x9pq-r4wt8``: the hint, then the secret in two groups."""
    hint = RecoveryCodes.HINT
    return f"{code[:hint]}-{code[hint:hint + 5]}-{code[hint + 5:]}"


@transaction.atomic
def recovery_codes_new(*, user) -> list[str]:
    """Replace the user's recovery codes with fresh ones; returns them, to show once (only hashes are kept)."""
    device, _created = RecoveryCodes.objects.get_or_create(user=user, name=RECOVERY_DEVICE,
                                                           defaults={"confirmed": True})
    device.codes.all().delete()
    codes = [_recovery_code() for _n in range(settings.REGISTRY["RECOVERY_CODES"])]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(device=device, hint=code[:RecoveryCodes.HINT],
                     code_hash=RECOVERY_HASHER.encode(code, RECOVERY_HASHER.salt())) for code in codes)
    return [recovery_code_display(code) for code in codes]


@transaction.atomic
def totp_enrol(*, request, device: TOTPDevice, code: str) -> list[str]:
    """Confirm an authenticator with a code it shows; the session becomes verified with it, and the user gets
    new recovery codes (returned, to show once). ValidationError if the code is wrong."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=request.user)
    if not _TOTP_CODE.fullmatch(_normal(code)) or not device.verify_token(_normal(code)):
        raise ValidationError({"code": _("Code: not accepted. Type the 6 digits the app shows now.")})
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = recovery_codes_new(user=request.user)
    otp_login(request, device)
    request.session[STATE_KEY] = {"needed": True, "device": True}
    record(action=AuditAction.DEVICE_ENROLLED, object_type="auth.user", object_id=request.user.pk,
           changes={"device": "totp", "name": device.name})
    return codes


def second_factor_verify(*, request, code: str):
    """Check a code from the user's authenticator, or one of their recovery codes (then used up). On success
    the session is verified (and given a new key); returns the device. On failure the attempt counts towards
    the lock-outs like a wrong password, and None is returned. Audited either way."""
    user = request.user
    code = _normal(code)
    devices = authenticators(user) if _TOTP_CODE.fullmatch(code) else RecoveryCodes.objects.devices_for_user(user)
    found = next((device for device in devices if verify_token(user, device.persistent_id, code)), None)
    if found is None:
        record(action=AuditAction.OTP_FAILED, object_type="auth.user", object_id=user.pk, user=user)
        user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)
        return None
    request.session.cycle_key()
    otp_login(request, found)
    kind = "recovery" if isinstance(found, RecoveryCodes) else "totp"
    record(action=AuditAction.OTP_VERIFIED, object_type="auth.user", object_id=user.pk, user=user,
           changes={"device": kind})
    if kind == "recovery":
        record(action=AuditAction.RECOVERY_USED, object_type="auth.user", object_id=user.pk, user=user,
               changes={"left": recovery_codes_left(user)})
    return found


def check_device_remove(*, user, device: TOTPDevice) -> None:
    if second_factor_required(user) and authenticators(user).exclude(pk=device.pk).count() == 0:
        raise ValidationError(_("Your role must use a second factor: add another authenticator app before "
                                "removing this one."), code="last_device")


@transaction.atomic
def totp_remove(*, user, device: TOTPDevice) -> None:
    check_device_remove(user=user, device=device)
    device.delete()
    record(action=AuditAction.DEVICES_RESET, object_type="auth.user", object_id=user.pk, user=user,
           changes={"removed": "totp", "name": device.name})


@transaction.atomic
def devices_reset(*, user, actor, reason: str = "") -> int:
    """An administrator removes every second-factor device of ``user`` (a lost phone): the user enrols
    again at their next sign-in. Their sessions end. Audited; returns how many devices went."""
    authenticator_apps, recovery = TOTPDevice.objects.filter(user=user), RecoveryCodes.objects.filter(user=user)
    removed = authenticator_apps.count() + recovery.count()
    authenticator_apps.delete()
    recovery.delete()
    record(action=AuditAction.DEVICES_RESET, object_type="auth.user", object_id=user.pk, user=actor,
           changes={"devices": removed}, reason=reason)
    transaction.on_commit(lambda: sessions_end(user=user, actor=actor, reason="second factor reset"))
    return removed
