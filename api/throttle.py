"""Throttles: failed authentications per address and per token, and requests per caller."""

from __future__ import annotations

import math
import time

import limits
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from api.problems import ProblemError
from cdtrack.settings import Settings


class Throttle:
    """Counters kept where the settings say (memory for one process; Redis for several)."""

    def __init__(self, settings: Settings) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage))
        self._failures = limits.parse(settings.auth_failure_limit)
        self._requests = limits.parse(settings.request_rate_limit)
        self._sign_ins = limits.parse(settings.sign_in_failure_limit)

    def refuse_if_failing(self, *, address: str, token: str | None) -> None:
        """429 while the address or the token has failed too often, even with the right token.

        Checked before the credential is: a guesser learns nothing from answers after the limit.
        """
        for scope, key in (("address", address), ("token", token)):
            if key is not None and not self._limiter.test(
                self._failures, "auth-failure", scope, key
            ):
                raise self._too_many(
                    self._failures,
                    ("auth-failure", scope, key),
                    "Too many failed authentications from this address or for this token",
                )

    def failed(self, *, address: str, token: str | None) -> None:
        self._limiter.hit(self._failures, "auth-failure", "address", address)
        if token is not None:
            self._limiter.hit(self._failures, "auth-failure", "token", token)

    def refuse_sign_in_if_failing(self, *, address: str, account: str) -> None:
        """429 while the address or the account has failed to sign in too often: checked before
        the password, so the attempt after the limit is refused even with the right one."""
        for scope, key in (("address", address), ("account", account)):
            if not self._limiter.test(self._sign_ins, "sign-in-failure", scope, key):
                raise self._too_many(
                    self._sign_ins,
                    ("sign-in-failure", scope, key),
                    "Too many failed sign-ins from this address or for this account",
                )

    def sign_in_failed(self, *, address: str, account: str) -> None:
        self._limiter.hit(self._sign_ins, "sign-in-failure", "address", address)
        self._limiter.hit(self._sign_ins, "sign-in-failure", "account", account)

    def count_request(self, *, caller: str) -> None:
        if not self._limiter.hit(self._requests, "request", caller):
            raise self._too_many(
                self._requests, ("request", caller), "Too many requests with this token"
            )

    def _too_many(
        self, limit: limits.RateLimitItem, identifiers: tuple[str, ...], what: str
    ) -> ProblemError:
        reset_at, _remaining = self._limiter.get_window_stats(limit, *identifiers)
        wait = max(1, math.ceil(reset_at - time.time()))
        return ProblemError(
            429,
            "Too Many Requests",
            f"{what} (limit {limit}); try again in {wait} s.",
            headers={"Retry-After": str(wait)},
        )
