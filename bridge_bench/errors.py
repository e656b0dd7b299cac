"""What the user got wrong, as distinct from what bridge-bench got wrong.

`bridge-bench` prints an `InputError` as one line naming the file or value, exit code 2; any other
exception is a bug: its traceback and exit code 3 (`cli.EXIT_INTERNAL`). The distinction matters
to the nightly workflow, which reads exit 2 from `compare` as "no baseline for this machine yet"
and must not read a bug in compare's own code that way.
"""


class InputError(ValueError):
    """Bad input (a file, a path id, a size, a filter): the message names it and says what to do."""
