"""The text of a cache command's arguments (``redis.raw_command``): the
one-join shortcut for short str arguments gives exactly what the
argument-by-argument loop gives, for any arguments and limits."""
from hypothesis import given, settings
from hypothesis import strategies as st

from ddtrace.contrib._cache_args import stringify_cache_args

ARGUMENT = st.one_of(st.text(max_size=130), st.binary(max_size=130), st.integers(), st.floats())


@settings(max_examples=500, deadline=None)
@given(st.lists(ARGUMENT, max_size=12), st.integers(1, 150), st.integers(1, 1200))
def test_the_shortcut_gives_what_the_loop_gives(args, value_max_len, cmd_max_len):
    # a list takes the loop, a tuple the shortcut when it applies
    assert stringify_cache_args(tuple(args), value_max_len, cmd_max_len) == \
        stringify_cache_args(list(args), value_max_len, cmd_max_len)


def test_short_str_arguments_are_joined_and_long_ones_cut():
    assert stringify_cache_args(("GET", "user:7")) == "GET user:7"
    assert stringify_cache_args(("SET", "k", "v" * 150)) == "SET k " + "v" * 100 + "..."
    assert stringify_cache_args(("SET", "k", b"\xff")) == "SET k \\xff"
    assert stringify_cache_args(tuple(["x" * 90] * 12)) == " ".join(["x" * 90] * 11) + " " + "x" * 10 + "..."
