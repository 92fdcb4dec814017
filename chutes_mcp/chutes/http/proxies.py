"""Which proxy a request goes through, as httpx2 chooses it from the environment, for error messages.

httpx2 routes each request by HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY (read through the standard
library's `urllib.request.getproxies`), but has no public way to ask which route a URL takes. A refused
connection or a 407 is the proxy's when there is one, and the error must name it rather than blame the
base URL; so this mirrors httpx2's rules (its `get_environment_proxies` and `URLPattern`, as of 2.17) for
that, and only that: the routing itself stays httpx2's. It can go once httpx2 says which proxy a URL uses.
"""

from __future__ import annotations

import ipaddress
import os
import re
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx2


@dataclass(frozen=True)
class ProxyRoute:
    """The proxy a request goes through: its address (without credentials) and where it was set."""

    url: str
    variable: str


def proxy_for(url: httpx2.URL) -> ProxyRoute | None:
    """The proxy httpx2 sends a request for `url` through, or None when it goes direct."""
    proxies = urllib.request.getproxies()
    if _bypassed(url, proxies.get("no", "")):
        return None
    for scheme in (url.scheme, "all"):
        if proxies.get(scheme):
            return ProxyRoute(_shown(proxies[scheme]), _variable(scheme))
    return None


def _shown(proxy: str) -> str:
    """The proxy's scheme, host and port: never the user and password its URL may carry."""
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or "?"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def _variable(scheme: str) -> str:
    name = f"{scheme.upper()}_PROXY"
    return name if name in os.environ or name.lower() in os.environ else "the system proxy settings"


def _is_ip(host: str, version: type[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    try:
        version(host.split("/")[0])
    except ValueError:
        return False
    return True


def _bypassed(url: httpx2.URL, no_proxy: str) -> bool:
    """Whether a NO_PROXY entry sends `url` direct; each entry read as httpx2 reads it (curl's rules)."""
    for entry in (item.strip() for item in no_proxy.split(",")):
        if entry == "*":
            return True
        if not entry:
            continue
        if "://" in entry:
            pattern = entry
        elif _is_ip(entry, ipaddress.IPv4Address) or entry.lower() == "localhost" or entry.startswith("["):
            pattern = f"all://{entry}"
        elif _is_ip(entry, ipaddress.IPv6Address):
            address, slash, subnet = entry.partition("/")
            pattern = f"all://[{address}]{slash}{subnet}"
        elif entry.startswith("*.") and "/" not in entry:
            pattern = f"all://{entry}"
        elif "/" not in entry:
            pattern = f"all://*{entry}"
        else:
            continue
        if _matches(pattern, url):
            return True
    return False


def _matches(pattern: str, url: httpx2.URL) -> bool:
    try:
        parsed = httpx2.URL(pattern)
    except httpx2.InvalidURL:
        return False  # like httpx2, curl and Go: an entry that does not parse is ignored
    if parsed.scheme != "all" and parsed.scheme != url.scheme:
        return False
    prefix = parsed.path.removeprefix("/")
    host = "" if parsed.host == "*" else parsed.host
    if prefix and (_is_ip(host, ipaddress.IPv4Address) or _is_ip(host, ipaddress.IPv6Address)):
        try:
            if ipaddress.ip_address(url.host) not in ipaddress.ip_network(f"{host}/{prefix}", strict=False):
                return False
        except ValueError:
            return False
    elif host and not re.match(_host_regex(host), url.host):
        return False
    return parsed.port is None or parsed.port == url.port


def _host_regex(host: str) -> str:
    if host.startswith("*."):  # subdomains only
        return f"^.+\\.{re.escape(host[2:])}$"
    if host.startswith("*"):  # the domain and its subdomains
        return f"^(.+\\.)?{re.escape(host[1:])}$"
    return f"^{re.escape(host)}$"
