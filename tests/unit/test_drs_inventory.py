"""The simulator's inventory: the packaged demo estate, replacement files and their errors."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from orchestration.clock import FakeClock
from orchestration.config import Settings
from orchestration.drs.inventory import load_inventory, parse_inventory
from orchestration.drs.simulator import DrsSimulator, SimLimits, simulator_from_settings
from orchestration.errors import ValidationFailed

DOCS = Path(__file__).parents[2] / "docs" / "simulator.md"


def server(hostname: str, **overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "hostname": hostname,
        "region": "eu-west-1",
        "os": "Ubuntu 22.04.4 LTS",
        "cpuCores": 2,
        "ramGiB": 8,
        "disks": [{"deviceName": "/dev/xvda", "sizeGiB": 50}],
        "recommendedInstanceType": "m6i.large",
    }
    entry.update(overrides)
    return entry


def write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "inventory.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def test_the_demo_estate_is_believable() -> None:
    inventory = load_inventory()
    regions = Counter(s.region for s in inventory.servers)
    assert regions == {"us-east-1": 15, "us-west-2": 4}
    east = [s for s in inventory.servers if s.region == "us-east-1"]
    assert {s.tags["Tier"] for s in east} >= {"database", "app", "web"}
    for entry in inventory.servers:
        assert entry.tags["Name"] == entry.hostname
        assert {"Tier", "Environment", "Application"} <= set(entry.tags)
    states = Counter(s.replication.state for s in inventory.servers)
    assert states["STALLED"] == 2
    lagging = [
        s.hostname
        for s in inventory.servers
        if s.replication.state != "STALLED" and s.replication.lag_seconds > 180
    ]
    assert sorted(lagging) == ["db-reporting-01", "web-admin-01"]
    assert {"db-primary-01", "app-orders-01", "web-frontend-01"} <= {s.hostname for s in inventory.servers}


def test_a_replacement_inventory_file_is_used(tmp_path: Path, no_network: None) -> None:
    path = write(tmp_path, {"servers": [server("db-01", tags={"Tier": "database"}), server("web-01")]})
    settings = Settings.from_env({"DRBOT_SIM_INVENTORY": str(path), "DRBOT_DB_PATH": str(tmp_path / "d.db")})
    simulator = simulator_from_settings(settings, clock=FakeClock())
    drs = simulator.client("eu-west-1")
    items = drs.describe_source_servers()["items"]
    assert [i["sourceProperties"]["identificationHints"]["hostname"] for i in items] == ["db-01", "web-01"]
    assert items[0]["tags"] == {"Tier": "database"}
    with pytest.raises(drs.exceptions.UninitializedAccountException):
        simulator.client("us-east-1").describe_source_servers()
    simulator.close()


def test_the_documented_example_is_a_valid_inventory() -> None:
    text = DOCS.read_text(encoding="utf-8")
    (example,) = re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)
    inventory = parse_inventory(json.loads(example))
    assert [s.hostname for s in inventory.servers] == ["db-01", "web-01"]
    assert inventory.servers[1].replication.state == "STALLED"


def test_fixed_ids_accounts_and_origins_are_honoured(tmp_path: Path, no_network: None) -> None:
    inventory = parse_inventory(
        {
            "servers": [
                server("app-01", sourceServerId="s-0123456789abcdef0", origin={"environment": "ON_PREMISES"}),
                server("app-02", accountId="444455556666", stagingAccountId="999988887777"),
            ]
        }
    )
    simulator = DrsSimulator(tmp_path / "d.db", FakeClock(), inventory)
    (own,) = simulator.client("eu-west-1").describe_source_servers()["items"]
    assert own["sourceServerID"] == "s-0123456789abcdef0"
    assert "sourceCloudProperties" not in own
    assert "vmWareUuid" in own["sourceProperties"]["identificationHints"]
    other = simulator.client("eu-west-1", "444455556666")
    (theirs,) = other.describe_source_servers(filters={"stagingAccountIDs": ["999988887777"]})["items"]
    assert theirs["arn"].startswith("arn:aws:drs:eu-west-1:444455556666:source-server/s-")
    assert theirs["sourceCloudProperties"]["originAccountID"] == "444455556666"
    assert theirs["stagingArea"]["stagingAccountID"] == "999988887777"
    simulator.close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            {"servers": [server("db-01"), server("web-01", replication={"state": "BROKEN"})]},
            r"servers\[1\] \(web-01\)\.replication\.state: Input should be 'STOPPED'",
        ),
        (
            {"servers": [server("db-01", ramGib=8)]},
            r"servers\[0\] \(db-01\)\.ramGib: Extra inputs are not permitted",
        ),
        ({"servers": [{"hostname": "db-01"}]}, r"servers\[0\] \(db-01\)\.region: Field required"),
        (
            {"servers": [server("db-01", replication={"lag": "five minutes"})]},
            r"replication\.lag: 'five minutes' is not an ISO-8601 duration",
        ),
        (
            {"servers": [server("db-01"), server("DB-01")]},
            r"hostname 'db-01' appears 2 times in region eu-west-1",
        ),
        (
            {"servers": [server("db-01", tags={"aws:x": "y"})]},
            r"tags: tag key 'aws:x' uses the reserved 'aws:' prefix",
        ),
        (
            {"servers": [server("db-01", region="Ireland")]},
            r"servers\[0\] \(db-01\)\.region: String should match",
        ),
        ({"initializedRegions": ["mars-1"]}, r"initializedRegions: 'mars-1' is not an AWS region name"),
        ({"version": 2}, r"version: Input should be 1"),
        ("{not json", r"is not valid JSON: .* at line 1 column 2"),
    ],
)
def test_a_bad_inventory_file_names_the_problem(tmp_path: Path, content: Any, message: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ValidationFailed, match=message) as refused:
        load_inventory(path)
    assert str(path) in refused.value.message


def test_a_bad_inventory_stops_simulator_from_settings(tmp_path: Path) -> None:
    path = write(tmp_path, {"servers": [server("db-01", cpuCores=0)]})
    with pytest.raises(ValidationFailed, match=r"servers\[0\] \(db-01\)\.cpuCores"):
        simulator_from_settings(Settings(db_path=tmp_path / "d.db", sim_inventory=path))
    with pytest.raises(ValidationFailed, match="does not exist"):
        simulator_from_settings(Settings(db_path=tmp_path / "d.db", sim_inventory=tmp_path / "missing.json"))


def test_an_inventory_over_the_source_server_limit_is_refused(tmp_path: Path) -> None:
    inventory = parse_inventory({"servers": [server(f"n-{i}") for i in range(3)]})
    with pytest.raises(ValidationFailed, match=r"3 source servers in eu-west-1.*DRS allows 2"):
        DrsSimulator(tmp_path / "d.db", FakeClock(), inventory, limits=SimLimits(max_source_servers=2))


def test_many_problems_are_summarised(tmp_path: Path) -> None:
    path = write(tmp_path, {"servers": [{"hostname": f"h-{i}"} for i in range(3)]})
    with pytest.raises(ValidationFailed, match=r"\(and \d+ more\)") as refused:
        load_inventory(path)
    assert len(refused.value.details["errors"]) > 5
