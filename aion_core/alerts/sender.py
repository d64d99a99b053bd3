"""Sending an alert through Apprise, bounded in time and with every secret masked.

Apprise is one library for email, Slack, Telegram, Discord, ntfy and plain JSON webhooks, so
`AION_NOTIFY_URLS` is a list of its URLs and nothing here knows a service. Two rules matter:

- A notification never holds up a job: each service waits at most `http_timeout()` (the
  adapters' one time limit, aion_core/retry.py) and the whole call at most connect + read;
  a service that is down or silent makes `send` return False, never raise.
- A message never carries a secret: an alert's text quotes step details and error messages,
  which can quote a URL with its key. `redact` masks the values of every secret setting
  (the notify URLs themselves included: they hold tokens), credentials in URLs and
  key-like query parameters, before anything leaves the process.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

import apprise
from apprise.utils.parse import parse_urls

from aion_core.alerts.rules import Alert
from aion_core.config import SECRET_SETTINGS, Settings
from aion_core.retry import http_timeout

log = logging.getLogger("aion.notify")

MASK = "****"
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/\s@]+@", re.I)
_KEY_PARAMS = re.compile(
    r"(?P<name>[\w-]*(?:key|token|secret|password|passwd|pwd|auth|signature)[\w-]*)"
    r"(?P<sep>=|:\s*)(?P<value>[^\s&,;'\"]+)", re.I)
_LEVELS = {"failure": apprise.NotifyType.FAILURE, "warning": apprise.NotifyType.WARNING}
#: Sent once any service took it: re-sending to all because one of several is down would
#: repeat the alert on the others at every check.
_DELIVERED = (apprise.AppriseResultStatus.SUCCESS, apprise.AppriseResultStatus.PARTIAL)


def split_urls(text: str) -> list[str]:
    """AION_NOTIFY_URLS as Apprise reads it (commas, semicolons or spaces between URLs)."""
    return [u for u in parse_urls(text or "") if "://" in u]


def secret_values(settings: Settings) -> list[str]:
    """Every secret a message must not show: the secret settings' values and each notify URL
    with its parts (a Telegram bot token is a path segment, not a password)."""
    values = [str(getattr(settings, name, "") or "") for name in SECRET_SETTINGS]
    for url in split_urls(settings.aion_notify_urls):
        values.append(url)
        values += re.split(r"[/:@?&=]+", url.split("://", 1)[-1])
    return sorted({v for v in values if len(v) >= 6}, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with known secret values, URL credentials and key-like parameters masked.

    Longest values first, so that a secret containing another is masked whole."""
    for value in sorted(secrets, key=len, reverse=True):
        if value:
            text = text.replace(value, MASK)
    text = _URL_CREDENTIALS.sub(lambda m: m["scheme"] + MASK + "@", text)
    return _KEY_PARAMS.sub(lambda m: m["name"] + m["sep"] + MASK, text)


class AppriseSender:
    """Sends alerts to every URL of AION_NOTIFY_URLS; `read_s` shortens the time limit
    (tests point it at a silent server)."""

    def __init__(self, urls: Sequence[str], secrets: Iterable[str] = (),
                 read_s: float | None = None) -> None:
        self.secrets = [*secrets, *urls]
        self.connect_s, self.read_s = http_timeout(read_s)
        self.client = apprise.Apprise()
        for url in urls:
            if not self.client.add(url):  # Apprise names no secret: its URL is masked here
                log.warning("AION_NOTIFY_URLS: not an Apprise URL: %s", redact(url, [url]))
        for service in self.client:
            service.socket_connect_timeout = self.connect_s
            service.socket_read_timeout = self.read_s

    def send(self, alert: Alert) -> bool:
        """True when a service took the alert; a service that did not is logged."""
        if not len(self.client):
            return False
        title, body = redact(alert.title, self.secrets), redact(alert.body, self.secrets)
        result = self.client.notify(body=body, title=title, notify_type=_LEVELS[alert.level],
                                    timeout=self.connect_s + self.read_s)
        if not result:
            log.warning("notification %r not delivered everywhere (%s)", alert.key,
                        result.status.name)
        return result.status in _DELIVERED
