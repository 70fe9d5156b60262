"""Context resolvers that read client headers. Never on by default: the app opts in, and each
requires proof that the headers come from someone it trusts (a shared secret or a trusted proxy)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .context import RequestContext
from .errors import ContextRejected


def sign(secret: str, user_id: str, tier: str) -> str:
    """What a trusted upstream sends in ``X-LLM-Signature`` for ``user_id`` and ``tier``."""
    message = f"{user_id}\n{tier}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class HeaderContextResolver:
    """Reads ``X-LLM-User`` and ``X-LLM-Tier`` when they are signed with ``secret`` (HMAC-SHA256)
    or when the request comes straight from one of ``trusted_proxies`` (addresses or networks).

    Requests without the headers fall back to ``fallback`` (or anonymous); headers present but
    unproven are refused with 401, so a spoofed tier never passes silently."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        trusted_proxies: Sequence[str] = (),
        fallback: Callable[[Any], RequestContext] | None = None,
        user_header: str = "x-llm-user",
        tier_header: str = "x-llm-tier",
        signature_header: str = "x-llm-signature",
    ) -> None:
        if not secret and not trusted_proxies:
            raise ValueError(
                "HeaderContextResolver needs a shared secret or trusted_proxies: client headers "
                "must never set the tier or user on their own"
            )
        self._secret = secret
        self._networks = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]
        self._fallback = fallback
        self.user_header = user_header.lower()
        self.tier_header = tier_header.lower()
        self.signature_header = signature_header.lower()

    def __repr__(self) -> str:
        return (
            f"HeaderContextResolver(secret={'***' if self._secret else None}, "
            f"trusted_proxies={[str(n) for n in self._networks]})"
        )

    def __call__(self, request: Any) -> RequestContext:
        """For Starlette/FastAPI requests; other frameworks call ``resolve`` directly."""
        client = getattr(request, "client", None)
        headers = {k.lower(): v for k, v in request.headers.items()}
        return self.resolve(headers, getattr(client, "host", None), request)

    def resolve(
        self, headers: Mapping[str, str], client_host: str | None, request: Any = None
    ) -> RequestContext:
        user = headers.get(self.user_header)
        tier = headers.get(self.tier_header)
        if user is None and tier is None:
            return self._fallback(request) if self._fallback else RequestContext()
        if self._trusted(client_host):
            return RequestContext(user_id=user, tier=tier)
        signature = headers.get(self.signature_header)
        if (
            self._secret
            and signature
            and hmac.compare_digest(signature, sign(self._secret, user or "", tier or ""))
        ):
            return RequestContext(user_id=user, tier=tier)
        raise ContextRejected(
            f"headers {self.user_header}/{self.tier_header} are not signed "
            f"({self.signature_header}) and the client is not a trusted proxy",
            status_code=401,
        )

    def _trusted(self, host: str | None) -> bool:
        if not host or not self._networks:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._networks)
