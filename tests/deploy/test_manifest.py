"""The Slack app manifests: /dr, interactivity and options on the one request URL, and exactly the
bot scopes the Web API methods drbot calls need (found in its source, so a new call without its
scope fails here)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.deploy.conftest import ROOT

HTTP_MANIFEST = ROOT / "manifest.yaml"
SOCKET_MANIFEST = ROOT / "manifest.socket-mode.yaml"
PLACEHOLDER_URL = "https://replace-with-slack-request-url.invalid/slack/events"

# Bot scope each Web API method needs (Slack's method reference); None: no scope.
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.delete": "chat:write",
    "chat.getPermalink": None,
    "views.open": None,
    "views.update": None,
    "views.push": None,
    "views.publish": None,
    "usergroups.users.list": "usergroups:read",
    "usergroups.list": "usergroups:read",
    "users.info": "users:read",
    "users.list": "users:read",
    "conversations.info": "channels:read",
    "conversations.join": "channels:join",
    "reactions.add": "reactions:write",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "files.upload": "files:write",
}
ALWAYS = {"commands"}  # the /dr slash command itself

FAMILIES = "chat|views|usergroups|users|conversations|reactions|files|pins|bookmarks|team|auth|apps|dnd|emoji"
# WebClient methods (client.chat_postMessage(...), client.usergroups_users_list(...)) ...
_CLIENT_CALL = re.compile(rf"\.((?:{FAMILIES})(?:_[A-Za-z0-9]+)+)\(")
# ... and method names given to api_call("chat.update", ...) or kept in constants
_METHOD_NAME = re.compile(rf"\"((?:{FAMILIES})(?:\.[A-Za-z]+)+)\"")
# WebClient helpers that call several methods: files_upload_v2 gets an upload URL, then completes.
COMPOSITE_CALLS = {"files.upload.v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}
# The console's stand-in for Slack serves these methods; it does not call them.
NOT_CALLERS = {"bot/console_slack.py"}


def methods_called() -> dict[str, str]:
    """Every Slack Web API method the code calls: method -> first file that calls it."""
    from tests.slack_stub import NEW_METHODS, load_spec

    known = set(load_spec()) | set(NEW_METHODS)
    found: dict[str, str] = {}
    for package in ("bot", "orchestration", "scheduler"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            if relative in NOT_CALLERS:
                continue
            text = path.read_text(encoding="utf-8")
            names = [call.replace("_", ".") for call in _CLIENT_CALL.findall(text)]
            names = [part for name in names for part in COMPOSITE_CALLS.get(name, (name,))]
            names += _METHOD_NAME.findall(text)
            for name in names:
                if name in known:  # "views.py" and the like are not methods
                    found.setdefault(name, relative)
    return found


def load(path: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return manifest


def bot_scopes(manifest: dict[str, Any]) -> set[str]:
    return set(manifest["oauth_config"]["scopes"]["bot"])


def test_the_scan_finds_the_calls_drbot_makes() -> None:
    called = methods_called()
    assert {"chat.postMessage", "chat.update", "views.open", "usergroups.users.list"} <= set(called)
    assert {"files.getUploadURLExternal", "files.completeUploadExternal"} <= set(called)  # share_file


def test_every_method_called_has_a_known_scope() -> None:
    unknown = {m: where for m, where in methods_called().items() if m not in METHOD_SCOPES}
    assert unknown == {}, "add these to METHOD_SCOPES (and their scope to the manifests)"


@pytest.mark.parametrize("path", [HTTP_MANIFEST, SOCKET_MANIFEST], ids=lambda p: p.name)
def test_the_bot_scopes_are_exactly_the_ones_used(path: Any) -> None:
    needed = {METHOD_SCOPES[m] for m in methods_called() if METHOD_SCOPES.get(m)} | ALWAYS
    assert bot_scopes(load(path)) == needed


@pytest.mark.parametrize("path", [HTTP_MANIFEST, SOCKET_MANIFEST], ids=lambda p: p.name)
def test_the_dr_command_and_interactivity(path: Any) -> None:
    manifest = load(path)
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/dr"
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["bot_user"]["display_name"]


@pytest.mark.parametrize("path", [HTTP_MANIFEST, SOCKET_MANIFEST], ids=lambda p: p.name)
def test_the_home_tab_and_a_read_only_messages_tab_where_drbot_sends_a_person_files(path: Any) -> None:
    app_home = load(path)["features"]["app_home"]
    assert app_home == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,  # the History button's chart and --markdown's copy land there
        "messages_tab_read_only_enabled": True,
    }


def test_http_mode_sends_everything_to_the_one_lambda_route(template: dict[str, Any]) -> None:
    manifest = load(HTTP_MANIFEST)
    interactivity = manifest["settings"]["interactivity"]
    urls = {
        manifest["features"]["slash_commands"][0]["url"],
        interactivity["request_url"],
        interactivity["message_menu_options_url"],  # external_select options (DRS servers)
    }
    assert urls == {PLACEHOLDER_URL}
    routes = {
        (event["Properties"].get("Method"), event["Properties"]["Path"])
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi" and event["Properties"].get("ApiId") == {"Ref": "SlackApi"}
    }
    assert routes == {("POST", urlsplit(PLACEHOLDER_URL).path)}  # the template's one Slack route
    assert manifest["settings"]["socket_mode_enabled"] is False


def test_socket_mode_has_no_request_urls() -> None:
    manifest = load(SOCKET_MANIFEST)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "url" not in manifest["features"]["slash_commands"][0]
    assert set(manifest["settings"]["interactivity"]) == {"is_enabled"}
    assert bot_scopes(manifest) == bot_scopes(load(HTTP_MANIFEST))
