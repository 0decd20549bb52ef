"""Where drbot's WebClients send Web API calls: SLACK_API_URL when set (GovSlack, Enterprise
proxies, the tests' loopback stub), else Slack's own."""

from __future__ import annotations

from slack_sdk import WebClient

from orchestration.config import Settings


def api_base_url(settings: Settings) -> str:
    """The Web API base URL, ending with "/" as WebClient joins it with the method name."""
    url = settings.slack_api_url or WebClient.BASE_URL
    return url if url.endswith("/") else url + "/"
