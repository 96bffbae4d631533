"""Password hashing (argon2id) and access tokens (JWT, HS256)."""

import functools
import os
import threading
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from typing import Any, TypeVar

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.config import Settings
from app.db import utcnow
from app.turns import turns

ALGORITHM = "HS256"


@lru_cache
def _hasher() -> PasswordHasher:
    # argon2-cffi's defaults follow RFC 9106's second recommended profile (64 MiB, t=3).
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_T = TypeVar("_T")


# Nice value of the password threads. A password check is 0.1 s of a core; a burst of failed
# sign-ins would otherwise take the cores from everybody's match lists. At nice 10 the kernel
# gives a request thread about nine times the CPU share of a password thread when both want it,
# and the password threads still use every idle cycle.
PASSWORD_THREAD_NICE = 10


def _lower_priority() -> None:
    try:  # on Linux a thread's id names it for setpriority; elsewhere keep the default
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), PASSWORD_THREAD_NICE)
    except (AttributeError, OSError):
        pass


async def off_the_loop(
    settings: Settings, fn: Callable[..., _T], *args: Any, client: str = ""
) -> _T:
    """Run a password hash or check in the process's small pool of password threads.

    argon2 releases the GIL, so checks run in parallel up to ``password_hash_threads`` and a
    burst of sign-ins queues here, holding neither the event loop nor the request threads that
    everybody else's requests need (nor 64 MiB per waiting sign-in). ``client``: who asks (the
    sign-in's address); waiting clients are served in turn (``app.turns``).
    """
    password_turns = turns("argon2", settings.password_hash_threads, _lower_priority)
    return await password_turns.run(client, functools.partial(fn, *args))


# A real hash of a random string, verified against when the username does not exist so that
# unknown and known usernames take the same time.
@lru_cache
def dummy_hash() -> str:
    return hash_password("xiangcai-timing-equaliser")


def create_access_token(
    *, account_id: int, role: str, settings: Settings, token_version: int = 0
) -> str:
    """A signed token for the account; ``token_version`` is the account's (0 when new)."""
    now = utcnow()
    claims = {
        "sub": str(account_id),
        "role": role,
        "ver": token_version,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=settings.access_token_minutes)).timestamp()),
        "typ": "access",
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def decode_access_token(token: str, settings: Settings) -> dict[str, Any] | None:
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "iat", "ver"]},
        )
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access":
        return None
    return claims
