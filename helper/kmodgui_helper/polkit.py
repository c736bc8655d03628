"""Ask polkit whether the sender of a message may perform an action. Fail closed.

The subject is the message's sender (``system-bus-name``), never a PID or an ID
the client sends. Interaction (polkit flag 1) is allowed only when the caller
set ALLOW_INTERACTIVE_AUTHORIZATION on its message. Any failure — polkit
missing, an error, a timeout, the caller gone — means "not authorised".
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
from collections.abc import Mapping
from typing import Any

from kmodgui_helper.dbuslib import Message, MessageType, Variant

log = logging.getLogger(__name__)

AUTHORITY = ("org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
             "org.freedesktop.PolicyKit1.Authority")
ALLOW_USER_INTERACTION = 1
# A password dialog may stay open a long time; without interaction polkit answers at once.
INTERACTIVE_TIMEOUT = 25 * 60.0
QUICK_TIMEOUT = 30.0


def quick_timeout() -> float:
    """How long a non-interactive check may take (``KMODGUI_HELPER_POLKIT_TIMEOUT``: tests)."""
    try:
        return max(0.1, float(os.environ.get("KMODGUI_HELPER_POLKIT_TIMEOUT", QUICK_TIMEOUT)))
    except ValueError:
        return QUICK_TIMEOUT


class Decision(enum.Enum):
    AUTHORIZED = "authorized"
    CHALLENGE = "challenge"  # would need interaction the caller did not allow
    DENIED = "denied"
    DISMISSED = "dismissed"  # the user closed the password dialog


async def check(bus: Any, sender: str, action: str, details: Mapping[str, str],
                interactive: bool, cancellation_id: str = "") -> Decision:
    """``CheckAuthorization`` for ``sender``; anything unexpected is ``DENIED``."""
    message = Message(
        destination=AUTHORITY[0], path=AUTHORITY[1], interface=AUTHORITY[2],
        member="CheckAuthorization", signature="(sa{sv})sa{ss}us",
        body=[["system-bus-name", {"name": Variant("s", sender)}], action, dict(details),
              ALLOW_USER_INTERACTION if interactive else 0, cancellation_id])
    try:
        reply = await asyncio.wait_for(
            bus.call(message), INTERACTIVE_TIMEOUT if interactive else quick_timeout())
    except TimeoutError:  # abandoned: withdraw it, so no dialog stays open for nothing
        log.warning("polkit did not answer a check of %s for %s in time: denied", action,
                    sender)
        if cancellation_id:
            cancel_later(bus, cancellation_id)
        return Decision.DENIED
    except Exception as exc:  # fail closed: polkit absent, bus gone
        log.warning("polkit check of %s for %s failed: %r", action, sender, exc)
        return Decision.DENIED
    if reply is None or reply.message_type != MessageType.METHOD_RETURN:
        log.info("polkit refused to check %s for %s: %s", action, sender,
                 getattr(reply, "error_name", None))
        return Decision.DENIED
    if reply.signature != "(bba{ss})":
        log.warning("polkit answered a check of %s with %r: denied", action, reply.signature)
        return Decision.DENIED
    try:
        authorized, challenge, details_out = reply.body[0]
    except (TypeError, ValueError, IndexError):
        return Decision.DENIED
    if authorized is True:
        return Decision.AUTHORIZED
    if challenge is True and not interactive:
        return Decision.CHALLENGE
    if isinstance(details_out, dict) and details_out.get("polkit.dismissed") == "true":
        return Decision.DISMISSED
    return Decision.DENIED


async def cancel(bus: Any, cancellation_id: str) -> None:
    """Withdraw a pending check (its password dialog closes); best effort."""
    message = Message(
        destination=AUTHORITY[0], path=AUTHORITY[1], interface=AUTHORITY[2],
        member="CancelCheckAuthorization", signature="s", body=[cancellation_id])
    try:
        await asyncio.wait_for(bus.call(message), quick_timeout())
    except Exception as exc:
        log.info("could not cancel polkit check %s: %r", cancellation_id, exc)


_cancelling: set[asyncio.Task[None]] = set()


def cancel_later(bus: Any, cancellation_id: str) -> None:
    """:func:`cancel` in the background: polkitd may answer only when its dialog is gone."""
    task = asyncio.ensure_future(cancel(bus, cancellation_id))
    _cancelling.add(task)
    task.add_done_callback(_cancelling.discard)
