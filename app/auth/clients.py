"""Who is on the other end: the client address that limits and the audit trail see.

The address is the socket's peer. ``X-Forwarded-For`` is read only when that peer is one of
``settings.trusted_proxies``; then the hops are walked from the right (each one appended by the
proxy before it) while they are trusted proxies too, and the first one that is not is the
client. Whatever a client writes into the header itself ends up left of that and is ignored.

The service must therefore be served without the server's own proxy-header handling (uvicorn
``--no-proxy-headers``): uvicorn otherwise believes the header from any local peer and replaces
the peer address before the service sees it.
"""

import ipaddress

from fastapi import Request

from app.config import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse(value: str) -> Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(address: Address | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in net for net in networks)


def client_address(request: Request) -> str:
    """The client's IP address as text ("unknown" when the server does not say)."""
    settings: Settings = request.app.state.settings
    peer = request.client.host if request.client else "unknown"
    networks = settings.trusted_proxy_networks
    current = _parse(peer)
    if not networks or not _trusted(current, networks):
        return peer
    hops = [h for v in request.headers.getlist("x-forwarded-for") for h in v.split(",")]
    for hop in reversed(hops):
        if not _trusted(current, networks):
            break
        parsed = _parse(hop)
        if parsed is None:
            break
        current = parsed
    return str(current)


def address_group(address: str) -> str:
    """What the per-address limits count: the address, or its /64 for IPv6 (one subscriber
    usually holds a whole /64 and could otherwise step through it)."""
    parsed = _parse(address)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(
        parsed.ipv4_mapped if isinstance(parsed, ipaddress.IPv6Address) else parsed or address
    )
