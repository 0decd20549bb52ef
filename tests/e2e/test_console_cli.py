"""The README's first command, as a user runs it: commands piped into `drbot`."""

from tests.support import run_drbot


def test_piped_servers_command_lists_simulated_servers_with_replication_state(env):
    result = run_drbot("/dr servers\n", env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "drbot> /dr servers" in out
    assert "DRS source servers" in out
    assert "CONTINUOUS" in out
    assert "STALLED" in out
    assert "s-" in out


def test_each_line_runs_and_the_console_exits_at_end_of_input(env):
    result = run_drbot("# a comment\n/dr help\n\nservers --region us-west-2\n", env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("drbot> ") == 2
    assert "us-west-2" in result.stdout
    # the console's own help after the app's: buttons, modals and how a piped script answers them
    assert "In this console: Buttons show their number" in result.stdout
    assert "the lines after a command that opens a modal are its answers" in result.stdout


def test_a_failing_command_is_reported_and_sets_the_exit_status(env):
    result = run_drbot("/dr servers --state BROKEN\n/dr frobnicate\n", env)
    assert result.returncode == 1
    assert "`--state` must be one of" not in result.stdout  # markup is rendered as text
    assert "--state must be one of" in result.stdout
    assert "frobnicate is not a /dr command" in result.stdout
    assert "nothing was changed" in result.stdout


def test_one_shot_command_flag(env):
    result = run_drbot("", env, "-c", "/dr servers --state STALLED")
    assert result.returncode == 0, result.stderr
    assert "STALLED" in result.stdout
    assert "CONTINUOUS" not in result.stdout.split("Protection group", 1)[1]


def test_a_piped_session_fills_a_modal_and_an_inline_error_asks_again(env):
    session = [
        '/dr group create "DB tier" --server db-primary-01',
        "/dr group create",  # the group modal: each following line answers one prompt
        "DB tier",  # taken: the app answers with an inline error, the name is asked again
        "",  # description
        "",  # region: keeps us-east-1
        "",  # account: this account
        "db-replica",  # servers: the only match of the type-ahead
        "",  # tags
        "DB replicas",
        "/dr group list",
    ]
    result = run_drbot("\n".join(session) + "\n", env, "--user", "alice")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "┌ New protection group\n│ Name: DB tier\n" in out
    assert "│ Servers (optional): db-replica\n│   → db-replica-01" in out
    assert "┌ New protection group (not submitted)\n│ ! Name: " in out
    assert "│ Name: DB replicas\n└ Create\n" in out
    assert "Created protection group DB replicas with 1 server (by alice)" in out
    listing = out.split("drbot> /dr group list", 1)[1]
    assert "DB replicas" in listing and "DB tier" in listing
