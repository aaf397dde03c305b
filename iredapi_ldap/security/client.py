"""The client's address (X-Forwarded-For only from trusted proxies) and the API gates."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask import current_app
from flask import g
from flask import request

from ..config import ConfigError
from ..errors import Forbidden

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
EXTENSION_KEY = "iredapi_ldap_access"
# Answers even with enable_api = no, so monitoring and load balancers see a live node.
ALWAYS_ENABLED_ENDPOINTS = frozenset({"health.health"})


@dataclass(frozen=True)
class AccessSettings:
    """The parsed [api] access options of one app."""

    enabled: bool
    restricted: bool
    clients: tuple[IPNetwork, ...]
    proxies: tuple[IPNetwork, ...]


def parse_networks(text: str, option: str) -> tuple[IPNetwork, ...]:
    """Parse a comma/space separated list of IPs and CIDRs; ConfigError names the option."""
    networks: list[IPNetwork] = []
    for part in text.replace(",", " ").split():
        try:
            networks.append(_unmapped_network(ipaddress.ip_network(part, strict=False)))
        except ValueError as exc:
            raise ConfigError(f"{option}: not an IP address or network: {part!r}") from exc
    return tuple(networks)


def _unmapped_network(network: IPNetwork) -> IPNetwork:
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
        prefix = max(network.prefixlen - 96, 0)
        return ipaddress.ip_network(f"{network.network_address.ipv4_mapped}/{prefix}", strict=False)
    return network


def parse_ip(text: str | None) -> IPAddress | None:
    """Parse one address as proxies write it (`[v6]:port`, `v4:port`); IPv4-mapped v6 -> v4."""
    if not text:
        return None
    value = text.strip()
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    value = value.partition("%")[0]  # an IPv6 zone id says nothing about who the client is
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def in_networks(address: IPAddress | None, networks: tuple[IPNetwork, ...]) -> bool:
    """Tell whether an address lies in any of the networks (None never does)."""
    return address is not None and any(address in network for network in networks)


def init_app(app: Flask) -> None:
    """Parse the access options (ConfigError when invalid) for the API gate (check_access)."""
    settings = AccessSettings(
        enabled=bool(app.config["ENABLE_API"]),
        restricted=bool(app.config["RESTRICT_API_ACCESS"]),
        clients=parse_networks(app.config.get("API_CLIENTS") or "", "[api] api_clients"),
        proxies=parse_networks(app.config.get("TRUSTED_PROXIES") or "", "[api] trusted_proxies"),
    )
    if settings.restricted and not settings.clients:
        raise ConfigError("[api] restrict_api_access = yes needs at least one entry in api_clients")
    app.extensions[EXTENSION_KEY] = settings


def settings() -> AccessSettings:
    """Return the current app's access settings."""
    return current_app.extensions[EXTENSION_KEY]


def client_address() -> str:
    """Return the client's address: the direct peer, or what trusted proxies say it is."""
    cached = g.get("_iredapi_client_address")
    if cached is None:
        cached = _resolve(request.remote_addr or "", request.headers.getlist("X-Forwarded-For"))
        g._iredapi_client_address = cached
    return cached


def _resolve(peer: str, forwarded: list[str]) -> str:
    proxies = settings().proxies
    peer_ip = parse_ip(peer)
    if not in_networks(peer_ip, proxies):
        return str(peer_ip) if peer_ip else peer
    hops = [hop.strip() for header in forwarded for hop in header.split(",") if hop.strip()]
    # Each trusted proxy appends the address it received the request from, so reading
    # right to left, the first address that is not a trusted proxy is the client; what
    # lies further left was written by the client itself and proves nothing.
    client: Any = peer_ip
    for hop in reversed(hops):
        hop_ip = parse_ip(hop)
        if hop_ip is None:
            # Written by a trusted proxy but unparsable ("unknown"): fail closed on it,
            # never fall back to the proxy's own, possibly allowed, address.
            return hop[:64]
        client = hop_ip
        if not in_networks(hop_ip, proxies):
            break
    return str(client)


def client_ip() -> IPAddress | None:
    """Return the client's address parsed, or None when it is not an IP."""
    return parse_ip(client_address())


def check_access() -> None:
    """before_request: refuse requests while the API is disabled or from clients not in api_clients.

    It runs before the login checks, so a refused client learns nothing about credentials.
    """
    current = settings()
    if not current.enabled and request.endpoint not in ALWAYS_ENABLED_ENDPOINTS:
        raise Forbidden("The API is disabled on this server.", code="API_DISABLED")
    if current.restricted and not in_networks(client_ip(), current.clients):
        raise Forbidden("This client address may not use the API.", code="NOT_AUTHORIZED")
