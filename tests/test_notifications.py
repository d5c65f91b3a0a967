"""Operator notifications: a local webhook and a local SMTP server receive them; secrets never
show in logs, messages or errors; a run failure reaches both channels through the sensor."""

from __future__ import annotations

import logging
from dataclasses import replace

from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    asset,
    build_run_status_sensor_context,
    define_asset_job,
)
from notify_servers import SmtpServer, WebhookServer

from pipelines.connectors import ConnectorError
from pipelines.notifications import Notice, Notifier
from pipelines.sensors import run_failure_notifier

PASSWORD = "s3cret-Pa55-7f2c9e"
HOOK_TOKEN = "T000/B000/XXXXhooktoken"
NOTICE = Notice(
    kind="run_failure",
    subject="civic: run 1234abcd of refresh_daily failed",
    what="Run of job refresh_daily failed in 1 step(s)",
    where=["run id 1234abcd", "assets: raw/chicago_crimes"],
    next_steps=["Open the run."],
)


def smtp_env(server: SmtpServer, password: str = PASSWORD) -> dict[str, str]:
    return {
        "CIVIC_SMTP_HOST": "127.0.0.1",
        "CIVIC_SMTP_PORT": str(server.port),
        "CIVIC_SMTP_USER": "civic-bot",
        "CIVIC_SMTP_PASSWORD": password,
        "CIVIC_NOTIFY_EMAIL_FROM": "civic@example.org",
        "CIVIC_NOTIFY_EMAIL_TO": "ops@example.org, analyst@example.org",
    }


def assert_no_secrets(*texts: object) -> None:
    for text in texts:
        assert PASSWORD not in str(text)
        assert HOOK_TOKEN not in str(text)


def test_settings_come_from_the_environment():
    notifier = Notifier.from_env({"CIVIC_SMTP_HOST": "smtp.city.gov", **_addresses()})
    assert notifier.smtp.port == 587 and notifier.smtp.starttls  # submission port: STARTTLS
    assert notifier.smtp.recipients == ("ops@example.org",)
    plain = Notifier.from_env({"CIVIC_SMTP_HOST": "relay", "CIVIC_SMTP_PORT": "25", **_addresses()})
    assert not plain.smtp.starttls
    forced = Notifier.from_env(
        {
            "CIVIC_SMTP_HOST": "r",
            "CIVIC_SMTP_PORT": "25",
            "CIVIC_SMTP_STARTTLS": "yes",
            **_addresses(),
        }
    )
    assert forced.smtp.starttls
    incomplete = Notifier.from_env({"CIVIC_SMTP_HOST": "relay"})
    assert incomplete.smtp is None and "CIVIC_NOTIFY_EMAIL_TO" in incomplete.problems[0]
    assert not Notifier.from_env({}).configured
    assert PASSWORD not in repr(
        Notifier.from_env({**_addresses(), "CIVIC_SMTP_HOST": "h", "CIVIC_SMTP_PASSWORD": PASSWORD})
    )


def _addresses() -> dict[str, str]:
    return {
        "CIVIC_NOTIFY_EMAIL_FROM": "civic@example.org",
        "CIVIC_NOTIFY_EMAIL_TO": "ops@example.org",
    }


def test_webhook_and_email_are_delivered_without_leaking_secrets(caplog):
    caplog.set_level(logging.DEBUG)
    with WebhookServer() as hook, SmtpServer(password=PASSWORD) as smtp:
        env = {"CIVIC_NOTIFY_WEBHOOK_URL": f"{hook.url}/hooks/{HOOK_TOKEN}", **smtp_env(smtp)}
        delivery = Notifier.from_env(env).send(NOTICE)
    assert delivery.ok and len(delivery.sent) == 2
    assert hook.paths == [f"/hooks/{HOOK_TOKEN}"]
    post = hook.posts[0]
    assert post["kind"] == "run_failure" and post["subject"] == NOTICE.subject
    assert "What to do next:" in post["text"] and "raw/chicago_crimes" in post["text"]
    assert smtp.logins == [("civic-bot", PASSWORD)]  # the password reached the server only
    (mail,) = smtp.mails
    assert mail.recipients == ["ops@example.org", "analyst@example.org"]
    assert mail.message["Subject"] == NOTICE.subject
    assert "run id 1234abcd" in mail.message.get_content()
    assert_no_secrets(caplog.text, delivery, post)


def test_delivery_failures_are_reported_redacted_and_never_raised(caplog):
    caplog.set_level(logging.DEBUG)
    with WebhookServer(status=500) as hook, SmtpServer(password="another") as smtp:
        env = {"CIVIC_NOTIFY_WEBHOOK_URL": f"{hook.url}/hooks/{HOOK_TOKEN}", **smtp_env(smtp)}
        delivery = Notifier.from_env(env).send(NOTICE)
    assert not delivery.sent and len(delivery.errors) == 2
    webhook_error, email_error = delivery.errors
    assert "HTTP 500" in webhook_error and "127.0.0.1" in webhook_error
    assert "login as civic-bot refused" in email_error and "CIVIC_SMTP_PASSWORD" in email_error
    assert smtp.mails == []
    assert_no_secrets(caplog.text, *delivery.errors)


def test_unreachable_channels_do_not_raise(caplog):
    env = {
        "CIVIC_NOTIFY_WEBHOOK_URL": f"http://127.0.0.1:9/hooks/{HOOK_TOKEN}",
        "CIVIC_SMTP_HOST": "127.0.0.1",
        "CIVIC_SMTP_PORT": "9",
        "CIVIC_SMTP_PASSWORD": PASSWORD,
        **_addresses(),
    }
    delivery = replace(Notifier.from_env(env), timeout_seconds=2).send(NOTICE)
    assert len(delivery.errors) == 2
    assert_no_secrets(caplog.text, *delivery.errors)


# -- run failure -> webhook + email, through the sensor ----------------------------------------


@asset(key=AssetKey(["raw", "chicago_crimes"]))
def failing_crimes() -> None:
    raise ConnectorError(
        "socrata dataset chicago_crimes (ijzp-q8t2): HTTP 503 from "
        "https://data.cityofchicago.org/resource/ijzp-q8t2.json after 6 attempts"
    )


def test_run_failure_reaches_the_webhook_and_the_mailbox(monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    job = define_asset_job("refresh_daily", selection=[failing_crimes])
    defs = Definitions(assets=[failing_crimes], jobs=[job])
    with (
        DagsterInstance.ephemeral() as instance,
        WebhookServer() as hook,
        SmtpServer(password=PASSWORD) as smtp,
    ):
        result = defs.resolve_job_def("refresh_daily").execute_in_process(
            instance=instance, raise_on_error=False, tags={"civic/trigger": "schedule:daily"}
        )
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        (failure,) = [
            r.event_log_entry.dagster_event
            for r in instance.get_records_for_run(
                result.run_id, of_type=DagsterEventType.RUN_FAILURE
            ).records
        ]
        for name, value in {
            "CIVIC_NOTIFY_WEBHOOK_URL": f"{hook.url}/hooks/{HOOK_TOKEN}",
            "CIVIC_DAGSTER_URL": "http://dagster.city.internal:3000",
            **smtp_env(smtp),
        }.items():
            monkeypatch.setenv(name, value)
        context = build_run_status_sensor_context(
            sensor_name="notify_run_failure",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=run,
        ).for_run_failure()
        run_failure_notifier()(context)

    (post,) = hook.posts
    text = post["text"]
    assert post["kind"] == "run_failure" and post["details"]["run_id"] == result.run_id
    assert f"run id {result.run_id}" in text  # where
    assert "raw__chicago_crimes: ConnectorError: socrata dataset chicago_crimes" in text
    assert "HTTP 503" in text  # what failed
    assert f"http://dagster.city.internal:3000/runs/{result.run_id}" in text
    assert "started by schedule:daily" in text
    assert "previous good data" in text and "--live" in text  # what to do next
    (mail,) = smtp.mails
    assert result.run_id[:8] in mail.message["Subject"]
    assert "HTTP 503" in mail.message.get_content()
    assert_no_secrets(caplog.text, text, mail.message.as_string())


def test_no_channel_configured_is_quiet(caplog):
    caplog.set_level(logging.INFO)
    delivery = Notifier.from_env({}).send(NOTICE)
    assert delivery.sent == () and delivery.errors == ()
    assert "no channel configured" in caplog.text
