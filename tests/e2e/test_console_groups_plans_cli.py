"""Groups and plans as a user types them: commands piped into `drbot`, answers read as text."""

import subprocess

from tests.support import run_drbot


def run_drbot_as_alice(stdin: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_drbot(stdin, env, "--user", "alice", *args)


def answers(stdout: str) -> dict[str, str]:
    """Each command line echoed by the console -> the answer printed under it."""
    out: dict[str, str] = {}
    for chunk in stdout.split("drbot> ")[1:]:
        command, _, answer = chunk.partition("\n")
        out[command] = answer
    return out


PLAN_CREATE = (
    '/dr plan create "Prod DR" --wave "Database:DB tier" --wave "App:App tier:after=1" '
    '--wave "Web:Web tier:after=2:pause" --rto 60'
)
SESSION = [
    '/dr group create "DB tier" --server db-primary-01,db-replica-01 --description "orders database"',
    '/dr group create "App tier" --server app-orders-01 --server app-orders-02 --server app-inventory-02',
    '/dr group create "Web tier" --tag Tier=web',
    PLAN_CREATE,
    "/dr group list",
    "/dr plan list",
    '/dr plan show "Prod DR"',
    '/dr plan check "Prod DR"',
    '/dr plan delete "Prod DR"',
    '/dr group delete "Web tier"',
]


def test_a_session_creates_lists_shows_checks_and_deletes(env):
    result = run_drbot_as_alice("\n".join(SESSION) + "\n", env)
    assert result.returncode == 0, result.stdout + result.stderr
    said = answers(result.stdout)
    assert list(said) == SESSION

    created = said[PLAN_CREATE]
    assert "Created recovery plan Prod DR with 3 waves (by alice)" in created

    groups = said["/dr group list"]
    assert "Name      Region     Account       Selection      Description" in groups
    assert "DB tier   us-east-1  this account  2 servers      orders database" in groups
    assert "Web tier  us-east-1  this account  tags Tier=web  -" in groups

    plans = said["/dr plan list"]
    assert "Prod DR  3      DB tier, App tier, Web tier  60 min" in plans

    shown = said['/dr plan show "Prod DR"']
    assert "#  Wave      Protection group  Depends on          Servers                Pause before" in shown
    assert "1  Database  DB tier           - (starts at once)  2                      -" in shown
    assert "2  App       App tier          1                   3 (1 not replicating)  -" in shown
    assert "3  Web       Web tier          2                   3                      yes" in shown
    assert "app-inventory-02" in shown and "STALLED" in shown

    checked = said['/dr plan check "Prod DR"']
    assert "Ready to run as a drill (3 waves, 8 servers), with 1 warning." in checked
    assert "REPLICATION_UNHEALTHY" in checked
    assert "DRS in us-east-1 now: 0/20 active jobs" in checked
    assert "*" not in checked and "`" not in checked  # markup rendered as text

    assert "Deleted recovery plan Prod DR." in said['/dr plan delete "Prod DR"']
    assert "Deleted protection group Web tier." in said['/dr group delete "Web tier"']
    after = run_drbot_as_alice("/dr plan list\n/dr group list\n", env)
    assert "No recovery plans yet." in after.stdout
    assert "Web tier" not in after.stdout and "2 protection groups" in after.stdout


ERRORS = """\
/dr group create "DB tier" --server db-primary-01
/dr group create "db TIER" --server db-replica-01
/dr group create "Other" --server no-such-host
/dr group create "Other" --server db-primary-01
/dr plan create "Prod DR" --wave "Database:DB tier:after=x"
/dr plan create "Prod DR" --wave "A:DB tier:after=2" --wave "B:DB tier:after=1"
/dr plan create "Prod DR" --wave "A:DB tier" --wave "B:Nope"
/dr plan create "Prod DR" --wave "A:DB tier"
/dr group delete "DB tier"
/dr group list
/dr plan list
"""


def test_every_error_says_what_was_wrong_and_that_nothing_changed(env):
    result = run_drbot_as_alice(ERRORS, env)
    assert result.returncode == 1  # some commands failed
    said = answers(result.stdout)
    expected = {
        '/dr group create "db TIER" --server db-replica-01': (
            "A protection group named 'DB tier' already exists",
            "DUPLICATE_NAME",
        ),
        '/dr group create "Other" --server no-such-host': (
            "No DRS source server with hostname 'no-such-host' in us-east-1",
            "SERVERS_NOT_FOUND",
        ),
        '/dr group create "Other" --server db-primary-01': (
            "A server belongs to at most one protection group",
            "SERVER_CONFLICT",
        ),
        '/dr plan create "Prod DR" --wave "Database:DB tier:after=x"': (
            "Wave 1 (Database:DB tier:after=x): x in after=x is not a wave number",
            "USAGE_ERROR",
        ),
        '/dr plan create "Prod DR" --wave "A:DB tier:after=2" --wave "B:DB tier:after=1"': (
            "The waves wait for each other in a cycle: 1 (A) → 2 (B) → 1 (A)",
            "CIRCULAR_DEPENDENCY",
        ),
        '/dr plan create "Prod DR" --wave "A:DB tier" --wave "B:Nope"': (
            "wave 2 (B:Nope) names 'Nope'",
            "NOT_FOUND",
        ),
        '/dr group delete "DB tier"': (
            "Protection group 'DB tier' is used by plan(s) 'Prod DR'; remove it from them first.",
            "RESOURCE_IN_USE",
        ),
    }
    for command, (sentence, code) in expected.items():
        assert sentence in said[command], said[command]
        assert f"{code} · nothing was changed" in said[command]
    assert (
        "NAME:GROUP[:after=N[,N…]|:after=none][:pause]"
        in said['/dr plan create "Prod DR" --wave "Database:DB tier:after=x"']
    )
    assert "1 protection group" in said["/dr group list"] and "Other" not in said["/dr group list"]
    assert "1 recovery plan" in said["/dr plan list"]


def test_groups_and_plans_persist_between_runs(env):
    first = run_drbot_as_alice(
        '/dr group create Web --tag Tier=web\n/dr plan create "Web DR" --wave "Web:Web"\n', env
    )
    assert first.returncode == 0, first.stdout
    second = run_drbot_as_alice("", env, "-c", "/dr plan show web-dr", "-c", '/dr plan show "web dr"')
    assert "No recovery plan with id or name 'web-dr'" in second.stdout
    assert "Recovery plan: Web DR" in second.stdout
    assert second.returncode == 1
