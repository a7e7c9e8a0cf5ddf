"""Limits per client, not per request or per socket: who a limit counts against.

A limit kept per socket is no limit: one cookie could open a hundred sockets, each with
its own message budget (a bystander's "locked in" went from 7 ms to 582 ms). This
process's sockets are counted here per person (a quiz's participant) and per client
address, and messages are paid for from one budget per person and one per address,
whichever socket they arrive on. Refusals here cost no database query. Counts are per web
process: with N replicas a client can hold at most N times a cap.
"""

import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

# A newer socket of the same person replaced this one; 4xxx: htmx does not reconnect, so
# two tabs of one player do not take turns forever.
CLOSE_REPLACED = 4409
# Too many sockets from this address, or a message on a socket that only listens.
CLOSE_POLICY = 1008


def address_key(address: str | None) -> str:
    """The unit a per-address limit counts: an IPv4 address, or an IPv6 /64.

    One IPv6 subscriber gets a whole /64 and may use any address in it, so counting single
    IPv6 addresses would let one client be thousands."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class TokenBucket:
    """Allows `rate` messages a second with bursts of `burst` (rate 0: no limit)."""

    def __init__(self, *, rate: float, burst: int):
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def ready(self) -> bool:
        """Whether a message may pass now (nothing is taken)."""
        if not self.rate:
            return True
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return self.tokens >= 1

    def take(self) -> bool:
        if not self.ready():
            return False
        if self.rate:
            self.tokens -= 1
        return True


@dataclass
class Owner:
    """Whoever a limit counts against here: one person, or one client address."""

    bucket: TokenBucket
    sockets: list = field(default_factory=list)  # oldest first


class Sockets:
    def __init__(self):
        self.people: dict[int, Owner] = {}
        self.addresses: dict[str, Owner] = {}

    async def admit(self, socket, *, person_id: int | None = None) -> bool:
        """Count a connecting socket; False if its address has too many open here already.

        A person over their cap keeps the newest sockets: the oldest one is closed (a phone
        that reconnects must not be locked out by its own half-dead socket)."""
        limits = settings.ELSA
        address = address_key((socket.scope.get("client") or ("",))[0])
        owner = self.addresses.get(address)
        if owner is None:
            owner = self.addresses[address] = Owner(TokenBucket(
                rate=limits["WS_ADDRESS_MESSAGES_PER_SECOND"], burst=limits["WS_ADDRESS_MESSAGE_BURST"]))
        if limits["WS_SOCKETS_PER_ADDRESS"] and len(owner.sockets) >= limits["WS_SOCKETS_PER_ADDRESS"]:
            return False
        owner.sockets.append(socket)
        socket.limits_address = address
        if person_id is None:
            return True
        person = self.people.get(person_id)
        if person is None:
            person = self.people[person_id] = Owner(TokenBucket(
                rate=limits["WS_MESSAGES_PER_SECOND"], burst=limits["WS_MESSAGE_BURST"]))
        person.sockets.append(socket)
        socket.limits_person = person_id
        while len(person.sockets) > limits["WS_SOCKETS_PER_PARTICIPANT"]:
            oldest = person.sockets.pop(0)
            oldest.limits_person = None
            await oldest.close(code=CLOSE_REPLACED)
        return True

    def release(self, socket) -> None:
        _release(self.addresses, getattr(socket, "limits_address", None), socket)
        _release(self.people, getattr(socket, "limits_person", None), socket)

    def allow_message(self, socket) -> bool:
        """Pay for one message from the person's budget and the address's; a refused
        message costs neither (a crowded address must not drain a person's budget)."""
        person = self.people.get(getattr(socket, "limits_person", -1))
        address = self.addresses.get(getattr(socket, "limits_address", ""))
        if person is None or address is None:
            return False  # a replaced socket: its person's budget is elsewhere now
        if not (person.bucket.ready() and address.bucket.ready()):
            return False
        return person.bucket.take() and address.bucket.take()


def _release(owners: dict[Any, Owner], key: Any, socket) -> None:
    owner = owners.get(key)
    if owner is not None and socket in owner.sockets:
        owner.sockets.remove(socket)
        if not owner.sockets:
            del owners[key]


sockets = Sockets()

