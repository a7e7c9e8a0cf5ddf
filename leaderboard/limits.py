"""Limits per client, not per request or per socket: who a limit counts against."""

import ipaddress


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
