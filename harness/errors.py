"""The one exception type for errors a user can cause."""


class HarnessError(Exception):
    """A problem the user can fix: the message says what is wrong and how to fix it.

    The CLI prints it without a traceback and exits with status 2.
    """
