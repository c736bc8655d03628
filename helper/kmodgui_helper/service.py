"""The message dispatcher: every call to the helper passes through :meth:`Service.handle`.

dbus-fast's and dbus-next's ``@method`` handlers never see the sender, so the
helper dispatches raw messages itself: check the signature, validate, refuse
when busy, ask polkit about the sender, check the caller is still there, act,
reply. Replies and errors are built here, so no traceback can reach a caller.
Received descriptors are closed on every path, also for calls we do not know.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from typing import Any

from kmodgui.core.paths import Root
from kmodgui_helper import BUS_NAME, INTERFACE, OBJECT_PATH, api, errors, polkit
from kmodgui_helper.dbuslib import Message, MessageType, Variant
from kmodgui_helper.errors import HelperError

log = logging.getLogger("kmodgui-helper")

BUS_DAEMON = "org.freedesktop.DBus"
BUS_PATH = "/org/freedesktop/DBus"
INTROSPECTABLE = "org.freedesktop.DBus.Introspectable"
PEER = "org.freedesktop.DBus.Peer"
PROPERTIES = "org.freedesktop.DBus.Properties"
PARENTS = {"/": "org", "/org": "kmodgui", "/org/kmodgui": "Helper1"}
ALLOW_INTERACTIVE = 0x4
NO_REPLY_EXPECTED = 0x1
DRAIN_SECONDS = 0.5
MAX_REPLY_TEXT = 64 * 1024
# Where the machine id lives (systemd's, then D-Bus's own copy), for Peer.GetMachineId.
MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")


def _text(value: object) -> str:
    """A string D-Bus can carry: no NUL (the bus would drop the helper), bounded length."""
    return str(value).replace("\0", "\ufffd")[:MAX_REPLY_TEXT]


def _variant(value: Any) -> Any:
    if isinstance(value, bool):
        return Variant("b", value)
    if isinstance(value, int):
        return Variant("u", value)
    if isinstance(value, str):
        return Variant("s", _text(value))
    return Variant("as", [_text(v) for v in value])


def machine_id() -> str | None:
    """This machine's id, read here: dbus-next's own Peer handler answers with a traceback."""
    for path in MACHINE_ID_FILES:
        try:
            with open(path, encoding="ascii") as fh:
                text = fh.read(64).strip()
        except (OSError, UnicodeDecodeError):
            continue
        if len(text) == 32 and all(c in "0123456789abcdef" for c in text):
            return text
    return None


def close_fds(fds: list[int]) -> None:
    """Close the received descriptors once: the list is emptied, so a second call is a no-op.

    (Closing a number twice could close an unrelated file a worker thread opened meanwhile.)
    """
    while fds:
        with contextlib.suppress(OSError):
            os.close(fds.pop())


class Service:
    """The helper's state: the bus, the root it acts on, the one-at-a-time slot, idleness."""

    def __init__(self, bus: Any, root: Root, idle_timeout: float) -> None:
        self.bus = bus
        self.root = root
        self.idle_timeout = idle_timeout
        self.table = api.check_table()
        self.xml = api.introspection_xml()
        self.busy = False
        self.tasks: set[asyncio.Task[None]] = set()
        self.last_activity = asyncio.get_running_loop().time()
        self.stopping = False
        self.watched: dict[str, asyncio.Event] = {}  # callers whose departure we await
        self.checks = 0

    # --- replies ---------------------------------------------------------------------
    def _send(self, call: Any, reply: Any) -> None:
        if int(call.flags) & NO_REPLY_EXPECTED:
            return
        try:
            self.bus.send(reply)
        except Exception as exc:  # the connection is gone: nothing to tell anyone
            log.warning("could not send a reply: %r", exc)

    def _error(self, call: Any, name: str, text: str, kernel_log: Sequence[str] = ()) -> Any:
        return Message(message_type=MessageType.ERROR, reply_serial=call.serial,
                       destination=call.sender, error_name=name, signature="sas",
                       body=[_text(text), [_text(line) for line in kernel_log]])

    def _return(self, call: Any, signature: str, body: list[Any]) -> Any:
        return Message.new_method_return(call, signature, body)

    def _note_departure(self, msg: Any) -> None:
        """The bus's NameOwnerChanged (only the bus can send as its own name): a caller left."""
        if (msg.message_type == MessageType.SIGNAL and msg.sender == BUS_DAEMON
                and msg.path == BUS_PATH and msg.interface == BUS_DAEMON
                and msg.member == "NameOwnerChanged" and msg.signature == "sss"
                and not msg.body[2] and msg.body[0] in self.watched):
            self.watched[msg.body[0]].set()

    # --- dispatch --------------------------------------------------------------------
    def handle(self, msg: Any) -> bool:
        """The bus's message handler: every method call is answered here, by us.

        The reply is sent by :meth:`_send`, never by the library: dbus-next turns an
        exception while sending (or in its own Peer handler) into a traceback for the caller.
        """
        fds = list(msg.unix_fds or [])
        if msg.message_type != MessageType.METHOD_CALL:
            close_fds(fds)
            self._note_departure(msg)
            return False
        self.last_activity = asyncio.get_running_loop().time()
        try:
            reply = self._dispatch(msg, fds)
            if reply is not True:
                self._send(msg, reply)
            return True
        except Exception:
            log.exception("unexpected failure while dispatching %s.%s", msg.interface,
                          msg.member)
            close_fds(fds)
            self._send(msg, self._error(msg, errors.FAILED,
                                        "internal error in the helper (see its log)"))
            return True

    def _dispatch(self, msg: Any, fds: list[int]) -> Any:
        if msg.interface == PEER:
            close_fds(fds)
            return self._peer(msg)
        if msg.path in PARENTS:
            close_fds(fds)
            if msg.interface in (INTROSPECTABLE, None) and msg.member == "Introspect" \
                    and msg.signature == "":
                return self._return(msg, "s", [api.parent_xml(PARENTS[msg.path])])
            return self._error(msg, errors.UNKNOWN_METHOD, "no such method here")
        if msg.path != OBJECT_PATH:
            close_fds(fds)
            return self._error(msg, errors.UNKNOWN_OBJECT, "no such object")
        if msg.interface == INTROSPECTABLE:
            close_fds(fds)
            if msg.member == "Introspect" and msg.signature == "":
                return self._return(msg, "s", [self.xml])
            return self._error(msg, errors.UNKNOWN_METHOD, "no such method")
        if msg.interface == PROPERTIES:
            close_fds(fds)
            return self._properties(msg)
        if msg.interface not in (INTERFACE, None):
            close_fds(fds)
            return self._error(msg, errors.UNKNOWN_INTERFACE, "no such interface")
        method = self.table.get(msg.member)
        if method is None:
            close_fds(fds)
            return self._error(msg, errors.UNKNOWN_METHOD, "no such method")
        if msg.signature != method.signature:
            close_fds(fds)
            return self._error(msg, errors.INVALID_ARGS,
                               f"{method.name} takes arguments of type "
                               f"({method.signature})")
        try:
            request = method.prepare(list(msg.body), fds)
        except HelperError as exc:
            close_fds(fds)
            return self._error(msg, exc.name, exc.message, exc.kernel_log)
        if not method.public and (not request.actions
                                  or not set(request.actions) <= set(method.actions)):
            close_fds(fds)  # fail closed: a mutating call always names its declared actions
            log.error("%s asked for no or undeclared polkit actions: refused", method.name)
            return self._error(msg, errors.FAILED, "internal error in the helper (see its log)")
        if not request.actions:
            close_fds(fds)
            try:
                return self._return(msg, "a{sv}", [self._pack(request.act(self.root))])
            except HelperError as exc:
                return self._error(msg, exc.name, exc.message, exc.kernel_log)
        if self.busy or self.stopping:
            close_fds(fds)
            return self._error(msg, errors.BUSY, "another operation is in progress; "
                               "try again when it has finished")
        self.busy = True
        task = asyncio.get_running_loop().create_task(self._serve(msg, request, fds))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return True

    def _peer(self, msg: Any) -> Any:
        if msg.member not in ("Ping", "GetMachineId"):
            return self._error(msg, errors.UNKNOWN_METHOD, "no such method")
        if msg.signature != "":
            return self._error(msg, errors.INVALID_ARGS, f"{msg.member} takes no arguments")
        if msg.member == "Ping":
            return self._return(msg, "", [])
        ident = machine_id()
        if ident is None:
            return self._error(msg, errors.FAILED, "this machine has no machine id")
        return self._return(msg, "s", [ident])

    def _properties(self, msg: Any) -> Any:
        if msg.member == "GetAll" and msg.signature == "s":
            if msg.body[0] == INTERFACE:
                return self._return(msg, "a{sv}", [{}])
            return self._error(msg, errors.UNKNOWN_INTERFACE, "no such interface")
        if msg.member == "Get" and msg.signature == "ss":
            return self._error(msg, errors.UNKNOWN_PROPERTY, "this interface has no properties")
        if msg.member in ("Get", "GetAll", "Set"):
            return self._error(msg, errors.INVALID_ARGS, "wrong arguments")
        return self._error(msg, errors.UNKNOWN_METHOD, "no such method")

    @staticmethod
    def _pack(values: dict[str, Any]) -> dict[str, Any]:
        return {key: _variant(value) for key, value in values.items()}

    async def _bus_daemon(self, member: str, argument: str) -> Any:
        return await self.bus.call(Message(
            destination=BUS_DAEMON, path=BUS_PATH, interface=BUS_DAEMON, member=member,
            signature="s", body=[argument]))

    async def _authorise(self, sender: str, request: api.Request, interactive: bool,
                         gone: asyncio.Event) -> tuple[polkit.Decision, str] | None:
        """Ask polkit for every action the request names, in order; the first refusal ends it.

        None when the caller left meanwhile: the check is cancelled at once, so a caller
        that goes away does not hold the one-at-a-time slot until polkit answers.
        """
        decision, action = polkit.Decision.DENIED, ""
        for action in request.actions:
            self.checks += 1
            cancellation_id = f"kmodgui-helper-{os.getpid()}-{self.checks}"
            check = asyncio.ensure_future(polkit.check(
                self.bus, sender, action, request.details, interactive, cancellation_id))
            departure = asyncio.ensure_future(gone.wait())
            await asyncio.wait({check, departure}, return_when=asyncio.FIRST_COMPLETED)
            departure.cancel()
            if not check.done():
                check.cancel()
                # in the background: polkitd may answer the cancel only when it is done
                task = asyncio.ensure_future(polkit.cancel(self.bus, cancellation_id))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
                return None
            decision = check.result()
            if decision is not polkit.Decision.AUTHORIZED:
                break
        return decision, action

    async def _caller_uid(self, sender: str) -> int | None:
        """The caller's uid from the bus, or None when it has gone away."""
        reply = await self._bus_daemon("GetConnectionUnixUser", sender)
        if reply is None or reply.message_type != MessageType.METHOD_RETURN:
            return None
        return int(reply.body[0])

    async def _serve(self, msg: Any, request: api.Request, fds: list[int]) -> None:
        sender = msg.sender
        interactive = bool(int(msg.flags) & ALLOW_INTERACTIVE)
        match = ("type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                 f"member='NameOwnerChanged',arg0='{sender}'")
        gone = self.watched[sender or ""] = asyncio.Event()
        try:
            if not sender:  # not on a bus: nobody to ask polkit about
                self._send(msg, self._error(msg, errors.NOT_AUTHORIZED, "unknown caller"))
                return
            # watch for the caller leaving first, then look it up: no departure is missed
            await self._bus_daemon("AddMatch", match)
            # who is asking, for the log (refusals too); a caller already gone is not served
            uid = await self._caller_uid(sender)
            if uid is None:
                log.info("%s %s: the caller has gone away; not done", sender, request.summary)
                return
            who = f"uid {uid} ({sender})"
            # force-unload is asked in addition to unload
            answer = await self._authorise(sender, request, interactive, gone)
            if answer is None:
                log.info("%s %s: the caller has gone away; not done (during authorisation)",
                         who, request.summary)
                return
            decision, action = answer
            if decision is polkit.Decision.CHALLENGE:
                log.info("%s %s: needs interactive authorisation", who, request.summary)
                self._send(msg, self._error(
                    msg, errors.INTERACTIVE_REQUIRED,
                    "authentication is required: call again allowing interactive "
                    "authorization"))
                return
            if decision is not polkit.Decision.AUTHORIZED:
                log.info("%s %s: not authorised (%s, %s)", who, request.summary,
                         action, decision.value)
                text = ("authentication was dismissed" if decision is polkit.Decision.DISMISSED
                        else f"you are not authorised to do this ({action})")
                self._send(msg, self._error(msg, errors.NOT_AUTHORIZED, text))
                return
            if await self._caller_uid(sender) != uid:  # gone meanwhile (CVE-2021-3560 pattern)
                log.info("%s %s: the caller has gone away; not done", who, request.summary)
                return
            loop = asyncio.get_running_loop()
            try:
                values = await loop.run_in_executor(None, request.act, self.root)
            except HelperError as exc:
                log.info("%s %s: %s: %s", who, request.summary,
                         exc.name.rsplit(".", 1)[-1], exc.message)
                self._send(msg, self._error(msg, exc.name, exc.message, exc.kernel_log))
                return
            log.info("%s %s: done; files %s", who, request.summary,
                     values.get("files") or "none")
            self._send(msg, self._return(msg, "a{sv}", [self._pack(values)]))
        except Exception:
            log.exception("%s %s failed unexpectedly", sender, request.summary)
            self._send(msg, self._error(msg, errors.FAILED,
                                        "internal error in the helper (see its log)"))
        finally:
            close_fds(fds)
            self.watched.pop(sender or "", None)
            self.busy = False
            self.last_activity = asyncio.get_running_loop().time()
            if sender:
                with contextlib.suppress(Exception):
                    await self._bus_daemon("RemoveMatch", match)

    # --- lifetime --------------------------------------------------------------------
    async def run_until_idle(self) -> None:
        """Return after ``idle_timeout`` seconds without calls: release the name, then drain."""
        loop = asyncio.get_running_loop()
        tick = max(0.1, min(1.0, self.idle_timeout / 4))
        while True:
            await asyncio.sleep(tick)
            if getattr(self.bus, "_disconnected", False):
                log.warning("lost the bus connection")
                return
            if self.busy or self.tasks:
                continue
            if loop.time() - self.last_activity >= self.idle_timeout:
                break
        log.info("idle for %.0f s: exiting", self.idle_timeout)
        with contextlib.suppress(Exception):
            await self.bus.release_name(BUS_NAME)
        # Calls already routed to us are still answered; new ones activate a new helper.
        await asyncio.sleep(DRAIN_SECONDS)
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
        self.stopping = True

