import pytest

from bot.commands.grammar import Flag, Positional, parse_arguments, tokenize
from orchestration.errors import UsageError

FLAGS = (
    Flag("region", "region", value="REGION"),
    Flag("tag", "tag", value="K=V", repeatable=True),
    Flag("drill", "a switch"),
    Flag("state", "state", value="STATE", choices=("CONTINUOUS", "STALLED")),
)
POSITIONALS = (Positional("plan", "the plan's name or id"), Positional("extra", "optional", required=False))


def test_tokenize_reads_curly_quotes_as_straight_ones():
    assert tokenize("plan show “Prod DR” --reason ‘monthly drill’") == [  # noqa: RUF001
        "plan",
        "show",
        "Prod DR",
        "--reason",
        "monthly drill",
    ]


def test_tokenize_refuses_unbalanced_quotes():
    with pytest.raises(UsageError, match="Unbalanced quotes"):
        tokenize('plan show "Prod DR')


def test_flags_values_switches_and_repeats():
    args = parse_arguments(
        ["Prod DR", "--region=us-west-2", "--tag", "Tier=db", "--tag", "Env=prod", "--drill"],
        POSITIONALS,
        FLAGS,
    )
    assert args.get("plan") == "Prod DR"
    assert args.get("extra") is None
    assert args.get("region") == "us-west-2"
    assert args.all("tag") == ["Tier=db", "Env=prod"]
    assert args.has("drill")
    assert not args.has("nothing")


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        ([], "Missing <plan>"),
        (["a", "b", "c"], "Unexpected `c`"),
        (["a", "--bogus"], "Unknown option `--bogus`"),
        (["a", "--region"], "`--region` needs a value"),
        (["a", "--drill=yes"], "is a switch"),
        (["a", "--region", "x", "--region", "y"], "given twice"),
        (["a", "--state", "BROKEN"], "must be one of CONTINUOUS, STALLED"),
    ],
)
def test_bad_arguments_say_what_to_fix(tokens, message):
    with pytest.raises(UsageError, match=message):
        parse_arguments(tokens, POSITIONALS, FLAGS)


def test_double_dash_ends_options():
    args = parse_arguments(["--", "--weird-name"], POSITIONALS, FLAGS)
    assert args.get("plan") == "--weird-name"
