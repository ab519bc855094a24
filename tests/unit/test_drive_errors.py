"""Error replies from the driver look the same on every server version (no server needed)."""

from __future__ import annotations

import pytest
from redis.exceptions import NoScriptError, OutOfMemoryError, ResponseError

from langgraph_redis_saver import _drive

# What Redis 6.2 answers when a write inside a script meets maxmemory; 7.x
# refuses the EVALSHA itself with "-OOM command not allowed ...".
REDIS_62_SCRIPT_OOM = (
    "Error running script (call to f_516167a75434ea46d35179ee9d69fcfbf49c7c2a): "
    "@user_script:97: @user_script: 97: -OOM command not allowed when used memory > "
    "'maxmemory'."
)


def test_drive_error_turns_a_script_oom_into_out_of_memory_error() -> None:
    wrapped = ResponseError(REDIS_62_SCRIPT_OOM)
    error = _drive._error(wrapped)
    assert isinstance(error, OutOfMemoryError)
    assert str(error) == "command not allowed when used memory > 'maxmemory'."
    assert error.__cause__ is wrapped  # the server's own words stay in the traceback


@pytest.mark.parametrize(
    "reply",
    [
        ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
        OutOfMemoryError("command not allowed when used memory > 'maxmemory'."),
        NoScriptError("No matching script."),
        ValueError("-OOM command not allowed"),  # not a Redis reply
    ],
)
def test_drive_error_leaves_other_errors_alone(reply: Exception) -> None:
    assert _drive._error(reply) is reply
