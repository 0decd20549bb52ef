"""Text a person or an expression supplied, placed in Slack mrkdwn so that Slack shows it as typed,
and people named so that Slack shows their names.

Slack's mrkdwn has one documented escape: `&`, `<` and `>` become `&amp;`, `&lt;` and `&gt;`.
It has no escape for its formatting characters: `*bold*`, `_italic_`, `~strike~` and `` `code` ``
eat the characters around a phrase, so `cron(0 3 * * *)` or `a_b_c` lose characters and `:x:`
becomes an emoji. A backslash is shown, not honoured; an invisible character next to the marker
depends on how each client draws word boundaries. What every client renders as plain text is the
fallback of a date token whose format is invalid: `<!date^0^{_}|*>` is shown as `*`, never formatted
and never an emoji (the same fallback rule `slack_time` relies on in bot/views/executions.py). So:

- `escape_mrkdwn(text)`: entities for `&`, `<` and `>`; each `*`, `_`, `~` and backtick, and the
  colon that opens an emoji code, as such a token. Used for every name, description, reason,
  expression, time zone, hostname, tag and message that echoes what a person typed.
- `code(text)`: the text as inline code (formatting never applies inside it), for ids and other
  values; a value holding a backtick cannot be inline code and is escaped as above instead.
- `escape_message(text)`: an error's sentence, which is drbot's own text with what was typed in
  backticks: the backtick spans stay code, everything else is escaped.
- `mention(principal)`: a Slack user id (U…, W…) as `<@U…>`, a user group id (S…) as
  `<!subteam^S…>`, anything else (an IAM ARN, `scheduler`, an email) as escaped text.

The console (bot/views/text.py) renders a token as its fallback and the entities as characters, so
it shows the text as the person typed it. Only `plain_text` objects (headers, buttons, modal
titles, table cells) take text as it is: they are never formatted.
"""

from __future__ import annotations

import re

FORMATTING = "*_~`"
# the fallback of a date token with an invalid format: shown by Slack as plain text
LITERAL_TOKEN = "<!date^0^{{_}}|{char}>"
_SPECIAL = re.compile(r"[*_~`]|:(?=[A-Za-z0-9_+'-]+:)")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


def escape_entities(text: str) -> str:
    """Slack's three control characters as entities (what inline code and code blocks need)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def literal_char(char: str) -> str:
    """One character as a token Slack shows as itself, whatever surrounds it."""
    return LITERAL_TOKEN.format(char=char)


def escape_mrkdwn(text: str) -> str:
    """`text` as mrkdwn that Slack shows character for character (see the module docstring)."""
    return _SPECIAL.sub(lambda m: literal_char(m.group(0)), escape_entities(text))


def code(text: str) -> str:
    """`text` as inline code; with a backtick or a line break in it (or empty, or with spaces
    around it), as escaped plain text."""
    if not text or "`" in text or "\n" in text or text != text.strip():
        return escape_mrkdwn(text)
    return f"`{escape_entities(text)}`"


def escape_message(text: str) -> str:
    """drbot's own sentence with typed values in backticks: code spans stay code, the rest is
    escaped. With an odd number of backticks nothing is code: everything is escaped."""
    pieces = text.split("`")
    if len(pieces) % 2 == 0:
        return escape_mrkdwn(text)
    out: list[str] = []
    for index, piece in enumerate(pieces):
        if index % 2 == 0:
            out.append(escape_mrkdwn(piece))
        elif piece.strip() and "\n" not in piece:
            out.append(f"`{escape_entities(piece)}`")
        else:  # `` or ` ` or a line break: not code in Slack, so the backticks are shown
            out.append(escape_mrkdwn(f"`{piece}`"))
    return "".join(out)


def is_user_id(principal: str) -> bool:
    return bool(_USER_ID.match(principal))


def is_usergroup_id(principal: str) -> bool:
    return bool(_USERGROUP_ID.match(principal))


def mention(principal: str) -> str:
    """Who did something, as Slack shows them: a user or user group mention, else escaped text."""
    if is_user_id(principal):
        return f"<@{principal}>"
    if is_usergroup_id(principal):
        return f"<!subteam^{principal}>"
    return escape_mrkdwn(principal)


def mentions(principals: list[str] | tuple[str, ...], empty: str = "nobody") -> str:
    """Several principals, comma separated (`empty` when there are none)."""
    return ", ".join(mention(p) for p in principals) or empty


# a Slack user (U…, W…) or user group (S…) id inside a sentence: 9+ characters with a digit
_ID_IN_TEXT = re.compile(r"(?<![\w@^])([UWS](?=[A-Z0-9]*[0-9])[A-Z0-9]{8,})(?!\w)")


def escape_with_mentions(text: str) -> str:
    """A sentence that names people by id (an outcome, an event, a status reason), escaped, with
    each Slack user or user group id in it as a mention."""
    pieces = _ID_IN_TEXT.split(text)
    return "".join(
        mention(piece) if index % 2 == 1 else escape_mrkdwn(piece) for index, piece in enumerate(pieces)
    )


_BOLD_MARK = re.compile(r"<!date\^0\^\{_\}\|(.)>|<[^<>]*>|\*")


def without_bold(text: str) -> str:
    """A headline as a notification's text: without its bold markers, and the characters
    `escape_mrkdwn` wrapped shown as themselves (a notification is read, not formatted); entities
    and mentions stay as they are."""

    def plain(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1)
        return "" if match.group(0) == "*" else match.group(0)

    return _BOLD_MARK.sub(plain, text)
