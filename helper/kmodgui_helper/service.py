"""The message dispatcher: every call to the helper passes through :meth:`Service.handle`.

dbus-fast's and dbus-next's ``@method`` handlers never see the sender, so the
helper dispatches raw messages itself: check the signature, validate, ask polkit
about the sender (outside any slot), queue, check the caller is still there,
act, reply with what the caller may see of the kernel log. Replies and errors
are built here, so no traceback can reach a caller. Received descriptors are
closed in one place (:meth:`Service.handle`) on every path.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import logging
import os
import pwd
import threading
from collections.abc import Callable, Sequence
from typing import Any

from kmodgui.core.loaded import read_proc_modules
from kmodgui.core.paths import Root
from kmodgui_helper import BUS_NAME, INTERFACE, OBJECT_PATH, api, errors, kmsg, polkit
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
MAX_PENDING = 32  # polkit checks in progress, all callers together (one per uid)
MAX_QUEUE = 8  # authorised operations waiting for their turn or running
MAX_LOOKUPS = 64  # calls of callers whose uid the bus has not told us yet
MAX_STUCK_THREADS = 8  # module-file reads that never returned (a stalling file system)
MAX_REMEMBERED = 4096
BUS_TIMEOUT = 10.0
INSPECT_TIMEOUT = 30.0
BUSY_CALLER = ("your previous request is still waiting for authorisation; finish or cancel "
               "it first")
BUSY_ALL = "too many requests are waiting for authorisation; try again shortly"
BUSY_QUEUE = "too many operations are waiting; try again when they have finished"
DMESG_RESTRICT = "/proc/sys/kernel/dmesg_restrict"
# Members of these groups read the kernel log anyway (journalctl -k, /var/log/kern.log).
LOG_READER_GROUPS = ("adm", "systemd-journal")
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
    """The helper's state: the bus, the root it acts on, who is waiting for what, idleness.

    A call goes through three stages. Validation, synchronous, in :meth:`_dispatch`.
    Authorisation, concurrent and outside any slot: at most one pending polkit check
    per caller uid (a second call of that uid meanwhile is ``Busy``) and at most
    :data:`MAX_PENDING` in all, so nobody blocks others by leaving a password dialog
    open. Acting, one operation at a time, in a first-come queue of at most
    :data:`MAX_QUEUE` authorised calls; every operation is bounded in time.
    """

    def __init__(self, bus: Any, root: Root, idle_timeout: float) -> None:
        self.bus = bus
        self.root = root
        self.idle_timeout = idle_timeout
        self.table = api.check_table()
        self.xml = api.introspection_xml()
        self.tasks: set[asyncio.Task[None]] = set()
        self.last_activity = asyncio.get_running_loop().time()
        self.stopping = False
        self.watched: dict[str, tuple[asyncio.Event, int]] = {}  # caller → (gone, calls)
        self.uids: dict[str, int] = {}  # unique name → uid (names are never reused)
        self.lookups = 0  # calls whose caller's uid is being asked of the bus
        self.pending: dict[int, int] = {}  # uid → calls in inspection or polkit
        self.unsettled: set[str] = set()  # callers with a call not yet authorised or refused
        self.queued = 0  # authorised calls waiting for or holding the slot
        self.slot = asyncio.Lock()  # FIFO: waiters are woken in arrival order
        self.stuck_threads = 0  # inspection threads that never returned (hostile files)
        self.checks = 0

    @property
    def busy(self) -> bool:
        """True while an authorised operation waits or runs (for tests and idleness)."""
        return self.queued > 0

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

    def _busy(self, call: Any, text: str) -> Any:
        return self._error(call, errors.BUSY, text)

    def _note_departure(self, msg: Any) -> None:
        """The bus's NameOwnerChanged (only the bus can send as its own name): a caller left."""
        if (msg.message_type == MessageType.SIGNAL and msg.sender == BUS_DAEMON
                and msg.path == BUS_PATH and msg.interface == BUS_DAEMON
                and msg.member == "NameOwnerChanged" and msg.signature == "sss"
                and not msg.body[2] and msg.body[0] in self.watched):
            self.watched[msg.body[0]][0].set()

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
            self._send(msg, self._error(msg, errors.FAILED,
                                        "internal error in the helper (see its log)"))
            return True
        finally:
            # Received descriptors are closed here, in one place, on every path; a call
            # that goes on in a task took its own copies (see _dispatch_method).
            close_fds(fds)

    def _dispatch(self, msg: Any, fds: list[int]) -> Any:
        """The reply to send, or True when a task will send it. Never keeps ``fds``."""
        if msg.interface == PEER:
            return self._peer(msg)
        if msg.path in PARENTS:
            if msg.interface in (INTROSPECTABLE, None) and msg.member == "Introspect" \
                    and msg.signature == "":
                return self._return(msg, "s", [api.parent_xml(PARENTS[msg.path])])
            return self._error(msg, errors.UNKNOWN_METHOD, "no such method here")
        if msg.path != OBJECT_PATH:
            return self._error(msg, errors.UNKNOWN_OBJECT, "no such object")
        if msg.interface == INTROSPECTABLE:
            if msg.member == "Introspect" and msg.signature == "":
                return self._return(msg, "s", [self.xml])
            return self._error(msg, errors.UNKNOWN_METHOD, "no such method")
        if msg.interface == PROPERTIES:
            return self._properties(msg)
        if msg.interface not in (INTERFACE, None):
            return self._error(msg, errors.UNKNOWN_INTERFACE, "no such interface")
        method = self.table.get(msg.member)
        if method is None:
            return self._error(msg, errors.UNKNOWN_METHOD, "no such method")
        if msg.signature != method.signature:
            return self._error(msg, errors.INVALID_ARGS,
                               f"{method.name} takes arguments of type "
                               f"({method.signature})")
        return self._dispatch_method(msg, method, fds)

    def _dispatch_method(self, msg: Any, method: api.Method, received: list[int]) -> Any:
        # the request works on duplicates: the received descriptors are closed by handle()
        fds = [os.dup(fd) for fd in received]
        try:
            return self._prepare_and_start(msg, method, fds)
        finally:
            close_fds(fds)  # a no-op once a task has taken them over

    def _prepare_and_start(self, msg: Any, method: api.Method, fds: list[int]) -> Any:
        try:
            request = method.prepare(list(msg.body), fds, self.root)
        except HelperError as exc:
            return self._error(msg, exc.name, exc.message, exc.kernel_log)
        if not method.public and (not request.actions
                                  or not set(request.actions) <= set(method.actions)):
            # fail closed: a mutating call always names its declared actions
            log.error("%s asked for no or undeclared polkit actions: refused", method.name)
            return self._error(msg, errors.FAILED, "internal error in the helper (see its log)")
        if not request.actions:
            try:
                return self._return(msg, "a{sv}", [self._pack(request.act(self.root))])
            except HelperError as exc:
                return self._error(msg, exc.name, exc.message, exc.kernel_log)
        if self.stopping:
            return self._busy(msg, "the helper is exiting; call again")
        sender = msg.sender or ""
        uid = self.uids.get(sender)
        # refused at once, without a task: a flood of calls costs next to nothing (a
        # connection is one uid, so its second call before the first is decided is Busy)
        if sender in self.unsettled or (uid is not None and self.pending.get(uid)):
            return self._busy(msg, BUSY_CALLER)
        if uid is None and self.lookups >= MAX_LOOKUPS:
            return self._busy(msg, BUSY_ALL)
        if request.inspect is not None and self.stuck_threads >= MAX_STUCK_THREADS:
            return self._busy(msg, "too many module files could not be read; try later")
        own: list[int] = []
        if request.inspect is not None:  # the task reads the file, then closes its copies
            own, fds[:] = fds[:], []
        self.unsettled.add(sender)
        task = asyncio.get_running_loop().create_task(self._serve(msg, request, own, uid))
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

    async def _bus_daemon(self, member: str, signature: str, *body: Any) -> Any:
        """A call to the bus daemon, bounded in time (None when it did not answer)."""
        try:
            return await asyncio.wait_for(self.bus.call(Message(
                destination=BUS_DAEMON, path=BUS_PATH, interface=BUS_DAEMON, member=member,
                signature=signature, body=list(body))), BUS_TIMEOUT)
        except Exception as exc:
            log.warning("the bus did not answer %s: %r", member, exc)
            return None

    async def _caller_uid(self, sender: str) -> int | None:
        """The caller's uid from the bus, or None when it has gone away."""
        reply = await self._bus_daemon("GetConnectionUnixUser", "s", sender)
        if reply is None or reply.message_type != MessageType.METHOD_RETURN:
            return None
        return int(reply.body[0])

    async def _sees_whole_log(self, sender: str, uid: int) -> bool:
        """Could the caller read the kernel log without us? (dmesg_restrict 0, root, adm…)"""
        if uid == 0 or not _dmesg_restricted(self.root):
            return True
        groups: set[int] = set()
        reply = await self._bus_daemon("GetConnectionCredentials", "s", sender)
        if reply is not None and reply.message_type == MessageType.METHOD_RETURN:
            variant = reply.body[0].get("UnixGroupIDs")
            if variant is not None:
                groups.update(int(g) for g in variant.value)
        groups.update(_account_groups(uid))
        return bool(groups & _log_reader_groups())

    # --- one call, from authorisation to reply -----------------------------------------
    async def _watch(self, sender: str) -> asyncio.Event:
        """An event set when ``sender`` leaves the bus (watched before anything is asked)."""
        event, count = self.watched.get(sender, (asyncio.Event(), 0))
        self.watched[sender] = (event, count + 1)
        if count == 0:
            await self._bus_daemon("AddMatch", "s", _departure_match(sender))
        return event

    async def _unwatch(self, sender: str) -> None:
        event, count = self.watched.pop(sender, (asyncio.Event(), 1))
        if count > 1:
            self.watched[sender] = (event, count - 1)
            return
        await self._bus_daemon("RemoveMatch", "s", _departure_match(sender))

    async def _authorise(self, sender: str, request: api.Request, interactive: bool,
                         gone: asyncio.Event) -> tuple[polkit.Decision, str] | None:
        """Ask polkit every check of the request, in order; the first refusal ends it.

        None when the caller left meanwhile: the check is cancelled at once (polkit
        closes the dialog), and the caller's pending slot is freed.
        """
        decision, action = polkit.Decision.DENIED, ""
        for item in request.checks:
            action = item.action
            self.checks += 1
            cancellation_id = f"kmodgui-helper-{os.getpid()}-{self.checks}"
            check = asyncio.ensure_future(polkit.check(
                self.bus, sender, action, item.details, interactive, cancellation_id))
            departure = asyncio.ensure_future(gone.wait())
            await asyncio.wait({check, departure}, return_when=asyncio.FIRST_COMPLETED)
            departure.cancel()
            if not check.done():
                check.cancel()
                polkit.cancel_later(self.bus, cancellation_id)
                return None
            decision = check.result()
            if decision is not polkit.Decision.AUTHORIZED:
                break
        return decision, action

    async def _inspect(self, inspect: Callable[[], api.Request], fds: list[int]
                       ) -> api.Request:
        """Run a request's blocking inspection in a thread of its own, bounded in time.

        When it times out, the thread keeps ``fds`` (taken from the list) until it ends:
        closed now, their numbers could be reused by files the thread would then read.
        """
        future = _in_thread(inspect)
        try:
            return await asyncio.wait_for(asyncio.shield(future), INSPECT_TIMEOUT)
        except TimeoutError:
            self.stuck_threads += 1
            held, fds[:] = fds[:], []
            future.add_done_callback(lambda done: close_fds(held))
            future.add_done_callback(self._unstuck)
            raise HelperError(errors.INVALID_ARGS, "the module file could not be read within "
                              f"{INSPECT_TIMEOUT:.0f} s") from None

    def _unstuck(self, future: asyncio.Future[api.Request]) -> None:
        self.stuck_threads -= 1
        if not future.cancelled() and future.exception() is None:
            done = future.result()
            if done.cleanup is not None:
                done.cleanup()

    async def _serve(self, msg: Any, request: api.Request, fds: list[int],
                     known_uid: int | None) -> None:
        sender = msg.sender or ""
        interactive = bool(int(msg.flags) & ALLOW_INTERACTIVE)
        uid: int | None = None
        gone: asyncio.Event | None = None
        queued = False
        try:
            if not sender:  # not on a bus: nobody to ask polkit about
                self._send(msg, self._error(msg, errors.NOT_AUTHORIZED, "unknown caller"))
                return
            # watch for the caller leaving first, then look it up: no departure is missed
            gone = await self._watch(sender)
            if known_uid is None:
                self.lookups += 1
                try:
                    uid = await self._caller_uid(sender)
                finally:
                    self.lookups -= 1
            else:
                uid = known_uid
            if uid is None:
                log.info("%s %s: the caller has gone away; not done", sender, request.summary)
                return
            _remember(self.uids, sender, uid)
            who = f"uid {uid} ({sender})"
            if self.pending.get(uid) or sum(self.pending.values()) >= MAX_PENDING:
                uid_busy = bool(self.pending.get(uid))
                log.info("%s %s: busy (%s)", who, request.summary,
                         "its own authorisation is pending" if uid_busy else "too many")
                self._send(msg, self._busy(msg, BUSY_CALLER if uid_busy else BUSY_ALL))
                uid = None  # nothing of this uid's to release
                return
            self.pending[uid] = 1
            try:
                if request.inspect is not None:
                    request = await self._inspect(request.inspect, fds)
                    close_fds(fds)
                answer = await self._authorise(sender, request, interactive, gone)
            finally:
                self.pending.pop(uid, None)
                self.unsettled.discard(sender)
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
                if decision is polkit.Decision.DISMISSED:
                    self._send(msg, self._error(msg, errors.CANCELLED,
                                                "authentication was dismissed"))
                else:
                    self._send(msg, self._error(msg, errors.NOT_AUTHORIZED,
                                                f"you are not authorised to do this ({action})"))
                return
            log.info("%s authorised for %s: %s %s", who, request.summary,
                     ", ".join(dict.fromkeys(request.actions)), _shown(request.details))
            if self.queued >= MAX_QUEUE:
                log.info("%s %s: busy (%d operations waiting)", who, request.summary,
                         self.queued)
                self._send(msg, self._busy(msg, BUSY_QUEUE))
                return
            self.queued += 1
            queued = True
            async with self.slot:
                await self._act(msg, request, sender, uid, who)
        except HelperError as exc:
            self._send(msg, self._error(msg, exc.name, exc.message, exc.kernel_log))
        except Exception:
            log.exception("%s %s failed unexpectedly", sender, request.summary)
            self._send(msg, self._error(msg, errors.FAILED,
                                        "internal error in the helper (see its log)"))
        finally:
            self.unsettled.discard(sender)
            close_fds(fds)
            if request.cleanup is not None:
                request.cleanup()
            if queued:
                self.queued -= 1
            self.last_activity = asyncio.get_running_loop().time()
            if gone is not None:
                with contextlib.suppress(Exception):
                    await self._unwatch(sender)

    async def _act(self, msg: Any, request: api.Request, sender: str, uid: int,
                   who: str) -> None:
        """Our turn in the queue: act if the caller is still there, reply with what it may see."""
        if await self._caller_uid(sender) != uid:  # gone meanwhile (CVE-2021-3560 pattern)
            log.info("%s %s: the caller has gone away; not done", who, request.summary)
            return
        loop = asyncio.get_running_loop()
        values, failure, involved = await loop.run_in_executor(
            None, _act_watching_modules, request, self.root)
        see_all = await self._sees_whole_log(sender, uid)
        modules = (*request.modules, *involved)
        if failure is not None:
            log.info("%s %s: %s: %s", who, request.summary,
                     failure.name.rsplit(".", 1)[-1], failure.message)
            self._send(msg, self._error(msg, failure.name, failure.message,
                                        kmsg.visible(failure.kernel_log, modules, see_all)))
            return
        values["kernel-log"] = kmsg.visible(values.get("kernel-log", []), modules, see_all)
        log.info("%s %s: done; files %s%s", who, request.summary,
                 values.get("files") or "none",
                 f"; warnings {values['warnings']}" if values.get("warnings") else "")
        self._send(msg, self._return(msg, "a{sv}", [self._pack(values)]))

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
            if self.tasks:
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


def _departure_match(sender: str) -> str:
    return ("type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
            f"member='NameOwnerChanged',arg0='{sender}'")


def _remember(cache: dict[str, int], sender: str, uid: int) -> None:
    """Keep a bounded sender → uid cache (a unique name never returns once gone)."""
    if len(cache) >= MAX_REMEMBERED:
        for name in list(cache)[: MAX_REMEMBERED // 2]:
            del cache[name]
    cache[sender] = uid


def _shown(details: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(details.items())) + "}"


def _in_thread(work: Any) -> asyncio.Future[Any]:
    """Run ``work`` in a daemon thread of its own (one that may block forever harms nobody)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, exc: BaseException | None) -> None:
        if future.cancelled():
            return
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(value)

    def run() -> None:
        try:
            value = work()
        except BaseException as exc:  # delivered to the waiting task
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, value, None)

    threading.Thread(target=run, name="kmodgui-inspect", daemon=True).start()
    return future


def _loaded_names(root: Root) -> set[str]:
    try:
        return {m.name for m in read_proc_modules(root)}
    except OSError:
        return set()


def _act_watching_modules(request: api.Request, root: Root
                          ) -> tuple[dict[str, Any], HelperError | None, tuple[str, ...]]:
    """Act; also name the modules that came or went meanwhile (their messages are the
    caller's: a dependency modprobe loaded, one ``modprobe -r`` removed)."""
    before = _loaded_names(root)
    values: dict[str, Any] = {}
    failure = None
    try:
        values = request.act(root)
    except HelperError as exc:
        failure = exc
    return values, failure, tuple(sorted(before ^ _loaded_names(root)))


def _dmesg_restricted(root: Root) -> bool:
    """``kernel.dmesg_restrict`` (unreadable or absent: restricted, the safe answer)."""
    try:
        with open(root.path(DMESG_RESTRICT), encoding="ascii") as fh:
            return fh.read(16).strip() != "0"
    except (OSError, UnicodeDecodeError):
        return True


def _account_groups(uid: int) -> set[int]:
    """The groups of the caller's account (what a new login of theirs would have)."""
    try:
        entry = pwd.getpwuid(uid)
        return set(os.getgrouplist(entry.pw_name, entry.pw_gid))
    except (KeyError, OSError):
        return set()


def _log_reader_groups() -> set[int]:
    found = set()
    for name in LOG_READER_GROUPS:
        with contextlib.suppress(KeyError):
            found.add(grp.getgrnam(name).gr_gid)
    return found
