"""Which passwords are too easy to guess.

Refused: the 30,000 most used passwords of the list that ships with ``zxcvbn`` (compared
without regard to case), passwords containing the user name (or the phone number used as one),
passwords of very few different characters or one short block repeated, and passwords made
only of runs of the alphabet, the digits or a keyboard row ("abcd1234", "qwerty123").
Each reason is a Chinese sentence that names the field.
"""

from functools import lru_cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS

_RUNS = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
)
_MIN_RUN = 3


@lru_cache
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


@lru_cache
def _run_pieces() -> frozenset[str]:
    """Every piece of at least three characters of a run, forwards and backwards."""
    pieces: set[str] = set()
    for run in _RUNS:
        for text in (run, run[::-1]):
            for start in range(len(text)):
                for end in range(start + _MIN_RUN, len(text) + 1):
                    pieces.add(text[start:end])
    return frozenset(pieces)


def _only_runs(text: str) -> bool:
    pieces = _run_pieces()
    longest = max(len(p) for p in pieces)
    i = 0
    while i < len(text):
        end = next(
            (
                e
                for e in range(min(len(text), i + longest), i + _MIN_RUN - 1, -1)
                if text[i:e] in pieces
            ),
            None,
        )
        if end is None:
            return False
        i = end
    return True


def _repeated_block(text: str) -> bool:
    n = len(text)
    return any(n % size == 0 and text[:size] * (n // size) == text for size in range(1, n // 2 + 1))


def password_problem(password: str, *, username: str | None = None) -> str | None:
    """Why ``password`` is too easy to guess (a Chinese sentence), or None if it is not."""
    lowered = password.lower()
    if lowered in _common():
        return "密码过于常见，属于最常被使用的密码之一，请换一个"
    name = (username or "").strip().lower()
    if len(name) >= 3 and name in lowered:
        return "密码不能包含用户名或手机号"
    if len(set(lowered)) < 4 or _repeated_block(lowered):
        return "密码过于简单：字符种类太少或是简单重复，请换一个"
    if _only_runs(lowered):
        return "密码过于简单：由连续的字母、数字或键盘相邻键组成，请换一个"
    return None
