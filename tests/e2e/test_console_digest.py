"""The monthly digest in the console, as a user types it: settings saved, shown, and the month so
far (docs/schedules.md, "The monthly digest")."""

from tests.support import run_drbot


def test_the_console_sets_shows_and_summarises_the_digest(env):
    session = [
        '/dr group create "Web tier" --server db-primary-01',
        '/dr plan create "Web DR" --wave "Web:Web tier"',
        '/dr digest set --channel C0DIGEST01 --schedule "rate(1 hour)"',  # refused: at most monthly
        '/dr digest set --channel C0DIGEST01 --schedule "cron(0 9 1 * ? *)" --expect-every 30',
        "/dr digest show",
        "/dr digest now",
    ]
    result = run_drbot("\n".join(session) + "\n", env, "--user", "alice")
    out = result.stdout
    assert "a month is not a fixed number of days" in out and "e.g. cron(0 9 1 * ? *)" in out
    assert "cron(0 9 1 * ? *)" in out and "30 days" in out
    assert "so far" in out and "1 plans not drilled in time" in out
    assert "Web DR" in out and "never drilled" in out
