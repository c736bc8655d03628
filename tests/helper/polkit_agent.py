"""A polkit authentication agent that never answers, and a caller that uses it (run as a user).

What a hostile user can do without any grant: register an agent for their own
process with the real polkitd, send the helper a call that allows interaction,
and leave the "password dialog" open. Connection A registers the agent and
serves it; connection B (same process, so polkitd finds the agent through the
process) sends the helper call. Lines on stdout report what happened:
``ready``, ``asked <action>`` when polkitd began authentication,
``cancelled`` when polkitd withdrew it, ``reply <name>`` when the helper answered.
Connection B disconnects once the agent was asked, with ``--leave`` at once, otherwise
when a line arrives on stdin; the agent itself stays until it is stopped. With
``--dismiss`` the agent answers at once as a dialog the user closed does.
"""

from __future__ import annotations

import asyncio
import os
import sys

from dbus_fast import BusType, Message, MessageFlag, MessageType, Variant
from dbus_fast.aio import MessageBus

AUTHORITY = ("org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
             "org.freedesktop.PolicyKit1.Authority")
AGENT_PATH = "/org/kmodgui/test/Agent"
AGENT_INTERFACE = "org.freedesktop.PolicyKit1.AuthenticationAgent"


def say(text: str) -> None:
    print(text, flush=True)


def start_time() -> int:
    """The process start time in clock ticks, as polkit identifies a process."""
    with open(f"/proc/{os.getpid()}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[19])


async def main(module: str, leave: bool, dismiss: bool) -> None:
    asked = asyncio.Event()
    agent = await MessageBus(bus_type=BusType.SYSTEM).connect()

    def serve(msg: Message) -> bool | Message:
        if msg.message_type != MessageType.METHOD_CALL or msg.path != AGENT_PATH:
            return False
        if msg.member == "BeginAuthentication":
            say(f"asked {msg.body[0]}")
            asked.set()
            if dismiss:   # what an agent answers when the user closes its dialog
                return Message.new_error(msg, "org.freedesktop.PolicyKit1.Error.Cancelled",
                                         "the user dismissed the dialog")
            return True  # never answered: the dialog stays open
        if msg.member == "CancelAuthentication":
            say("cancelled")
            return Message.new_method_return(msg)
        return False

    agent.add_message_handler(serve)
    subject = ["unix-process", {"pid": Variant("u", os.getpid()),
                                "start-time": Variant("t", start_time()),
                                "uid": Variant("i", os.getuid())}]
    reply = await agent.call(Message(
        destination=AUTHORITY[0], path=AUTHORITY[1], interface=AUTHORITY[2],
        member="RegisterAuthenticationAgent", signature="(sa{sv})ss",
        body=[subject, "C", AGENT_PATH]))
    if reply is None or reply.message_type != MessageType.METHOD_RETURN:
        say(f"register failed {getattr(reply, 'error_name', None)} {getattr(reply, 'body', '')}")
        return
    say("ready")
    caller = await MessageBus(bus_type=BusType.SYSTEM).connect()
    call = Message(destination="org.kmodgui.Helper1", path="/org/kmodgui/Helper1",
                   interface="org.kmodgui.Helper1", member="SetLoadAtBoot",
                   signature="sba{sv}", body=[module, True, {}],
                   flags=MessageFlag.ALLOW_INTERACTIVE_AUTHORIZATION)
    pending = asyncio.ensure_future(caller.call(call))
    await asyncio.wait_for(asked.wait(), 60)
    if not leave:  # stay until told to leave (a line on stdin), or answered
        told = asyncio.ensure_future(asyncio.get_running_loop().run_in_executor(
            None, sys.stdin.readline))
        await asyncio.wait({pending, told}, return_when=asyncio.FIRST_COMPLETED)
        if pending.done():
            answer = pending.result()
            say(f"reply {answer.error_name if answer is not None else None}")
            await asyncio.sleep(3600)
    caller.disconnect()
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], "--leave" in sys.argv[2:], "--dismiss" in sys.argv[2:]))
