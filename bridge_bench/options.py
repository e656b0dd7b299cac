"""What a person types as KEY=VALUE, parsed once for every command that takes it.

`bridge-bench paired --baseline-env OMP_NUM_THREADS=1` (environment variables of one side) and
`bridge-bench compare --filter torch=2.14.1` (which runs a side holds) both read `key_value`, so
both refuse the same mistakes with the same kind of line. Plain data: the command line and the
reading side (bridge_bench.read.compare) both import it.
"""

from __future__ import annotations

import argparse
from typing import Collection

from bridge_bench import errors


def key_value(item: str, keys: Collection[str] | None = None, *, empty_value: bool = False,
              what: str = "", example: str = "") -> tuple[str, str]:
    """`item` split at its first '=' into (key, value): 'torch=2.14.1' -> ('torch', '2.14.1').

    InputError, naming `item` and the form it needs, when it has no '=' or no key, when `keys` is
    given and the key is not one of them, or when the value is empty and `empty_value` is false (an
    environment variable may be set to ''; a filter on '' matches nothing). `what` names the item
    in the message ('filter'), `example` shows one that works."""
    key, sep, value = item.partition("=")
    if not sep or not key or (keys is not None and key not in keys) or (not value and not empty_value):
        raise errors.InputError(f"invalid {what + ' ' if what else ''}{item!r}: use KEY=VALUE"
                                + (f" with KEY one of {', '.join(keys)}" if keys is not None else "")
                                + (f", e.g. {example}" if example else ""))
    return key, value


class Parser(argparse.ArgumentParser):
    """argparse whose errors are InputError: the command line's one line naming the bad input, exit 2."""

    def error(self, message):
        raise errors.InputError(message)


def argument(parse, **fixed):
    """An argparse `type` from a parser of the package: its InputError becomes argparse's one line."""
    def convert(text: str):
        try:
            return parse(text, **fixed)
        except errors.InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert
