"""The channels beyond the app: e-mail through SMTP (stdlib) and a webhook (a JSON POST)."""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


class ChannelError(RuntimeError):
    """The channel did not take the message (the delivery is tried again later)."""


def send_email(config: Mapping, recipient: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="lianjie")
    message.set_content(body)
    security = config.get("SMTP_SECURITY") or "none"
    port = config.get("SMTP_PORT") or {"ssl": 465, "starttls": 587}.get(security, 25)
    timeout = float(config.get("NOTIFY_TIMEOUT") or 10)
    try:
        if security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                config["SMTP_HOST"], port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(config["SMTP_HOST"], port, timeout=timeout)
        with smtp:
            if security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise ChannelError(f"SMTP: {exc}") from exc


def post_webhook(url: str, payload: str, timeout: float = 10.0) -> None:
    """POST the JSON; any 2xx answer is success, except a WeCom-style ``{"errcode": n}`` with n ≠ 0."""
    if not url.startswith(("http://", "https://")):
        raise ChannelError("webhook: the URL must start with http:// or https://")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, data=payload.encode("utf-8"), headers={"Content-Type": "application/json; charset=utf-8"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer = response.read(4096)
    except (OSError, urllib.error.URLError) as exc:
        raise ChannelError(f"webhook: {exc}") from exc
    try:
        data = json.loads(answer or b"{}")
    except ValueError:
        return
    if isinstance(data, dict) and data.get("errcode") not in (None, 0):
        raise ChannelError(f"webhook: errcode {data.get('errcode')} {data.get('errmsg', '')}".strip())
