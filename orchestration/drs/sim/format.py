"""How the DRS simulator's values look on the wire: ids, ARNs, timestamps and durations.

Ids are derived from a hash of their inputs so a run is reproducible (same inventory, same calls,
same ids) while still looking like the real thing (`s-` / `drsjob-` / `i-` / `pit-` + 17 hex).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

_ISO_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_ISO_DATETIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?P<fraction>\.\d+)?(?P<zone>Z|[+-]\d{2}:\d{2})?$"
)


def hex17(*parts: object) -> str:
    """17 lowercase hex digits that depend only on `parts`."""
    text = "\x1f".join(str(part) for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:17]


def unit_interval(*parts: object) -> float:
    """A number in [0, 1) that depends only on `parts` (deterministic jitter, seeded throttling)."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def source_server_id(account_id: str, region: str, hostname: str) -> str:
    return f"s-{hex17('source-server', account_id, region, hostname)}"


def job_id(account_id: str, region: str, sequence: int) -> str:
    return f"drsjob-{hex17('job', account_id, region, sequence)}"


def ec2_instance_id(*parts: object) -> str:
    return f"i-{hex17('ec2-instance', *parts)}"


def snapshot_id(server_id: str, expected: float) -> str:
    return f"pit-{hex17('snapshot', server_id, int(expected))}"


def ebs_snapshot_id(server_id: str, expected: float, device: str) -> str:
    return f"snap-{hex17('ebs-snapshot', server_id, int(expected), device)}"


def ebs_volume_id(instance_id: str, device: str) -> str:
    # the model caps EbsVolumeID at 19 characters, so the short (8 hex digit) form of volume ids
    return f"vol-{hex17('ebs-volume', instance_id, device)[:8]}"


def mac_address(*parts: object) -> str:
    digits = hex17("mac", *parts)[:10]
    return "0e:" + ":".join(digits[i : i + 2] for i in range(0, 10, 2))


def arn(region: str, account_id: str, resource: str) -> str:
    """`resource` is `source-server/s-…`, `job/drsjob-…` or `recovery-instance/i-…`."""
    return f"arn:aws:drs:{region}:{account_id}:{resource}"


def iso_datetime(epoch_seconds: float) -> str:
    """DRS's timestamp format: `2026-01-01T00:00:00.000000+00:00` (always UTC, microseconds)."""
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="microseconds")


def parse_iso_datetime(text: str) -> float | None:
    """Epoch seconds for an ISO-8601 date-time (`Z`, an offset or none meaning UTC); None if unreadable."""
    match = _ISO_DATETIME.match(text.strip())
    if not match:
        return None
    zone = match["zone"] or "+00:00"
    normalized = (
        f"{match['date']}T{match['time']}{match['fraction'] or ''}{'+00:00' if zone == 'Z' else zone}"
    )
    try:
        return datetime.fromisoformat(normalized).timestamp()
    except ValueError:
        return None


def iso_duration(seconds: float) -> str:
    """`PT5S`, `PT4M12S`, `PT2H0M5S`, `P3DT1H0M0S` — whole seconds, as DRS reports lag."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"P{days}DT{hours}H{minutes}M{secs}S"
    if hours:
        return f"PT{hours}H{minutes}M{secs}S"
    if minutes:
        return f"PT{minutes}M{secs}S"
    return f"PT{secs}S"


def parse_iso_duration(text: str) -> float | None:
    """Seconds in an ISO-8601 duration such as `PT4M` or `P1DT2H`; None if unreadable."""
    match = _ISO_DURATION.match(text.strip())
    if not match or text.strip() in ("P", "PT") or text.strip().endswith("T"):
        return None
    parts = {key: float(value) for key, value in match.groupdict().items() if value}
    return (
        parts.get("days", 0.0) * 86_400
        + parts.get("hours", 0.0) * 3600
        + parts.get("minutes", 0.0) * 60
        + parts.get("seconds", 0.0)
    )
