"""Notifications of failed runs, failed checks and metric drift: a Slack-compatible webhook and e-mail over SMTP."""

import logging
import os
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage

import httpx

from dagster_project.config import NotificationsConfig

log = logging.getLogger("sprintproof.notify")


@dataclass
class Notifier:
    """Sends one message to every configured target; a target that fails is logged, never raised."""

    config: NotificationsConfig
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    timeout: float = 10.0

    def enabled(self, event: str) -> bool:
        return event in self.config.events and (
            self.config.slack_webhook_env is not None or self.config.email is not None
        )

    def send(self, event: str, subject: str, text: str) -> list[str]:
        """Deliver; returns the targets that accepted the message."""
        if event not in self.config.events:
            return []
        delivered: list[str] = []
        if self.config.slack_webhook_env:
            url = self.env.get(self.config.slack_webhook_env)
            if not url:
                log.warning(
                    "notifications: $%s is not set; no webhook message sent",
                    self.config.slack_webhook_env,
                )
            else:
                try:
                    response = httpx.post(
                        url, json={"text": f"*{subject}*\n{text}"}, timeout=self.timeout
                    )
                    response.raise_for_status()
                    delivered.append("webhook")
                except httpx.HTTPError as exc:
                    log.warning(
                        "notifications: the webhook refused the message (%s)", type(exc).__name__
                    )
        email = self.config.email
        if email is not None:
            message = EmailMessage()
            message["Subject"] = f"SprintProof: {subject}"
            message["From"] = email.sender
            message["To"] = ", ".join(email.recipients)
            message.set_content(text)
            try:
                with smtplib.SMTP(email.host, email.port, timeout=self.timeout) as smtp:
                    if email.starttls:
                        smtp.starttls()
                    user = self.env.get(email.username_env or "")
                    password = self.env.get(email.password_env or "")
                    if user and password:
                        smtp.login(user, password)
                    smtp.send_message(message)
                delivered.append("email")
            except (OSError, smtplib.SMTPException) as exc:
                log.warning(
                    "notifications: e-mail to %s failed (%s)", email.host, type(exc).__name__
                )
        return delivered
