"""A notification target's hint: its scheme and server, never a credential of any URL form."""

from __future__ import annotations

import apprise
import pytest

from api.schemas.agencies import masked_url
from store.notifications import UNREADABLE_HINT, target_hint

# Every secret is spelled "sec" + something, so one check covers the whole URL; each URL is one
# apprise understands, in a form with credentials, headers, payload or query arguments.
FORMS: list[tuple[str, str]] = [
    ("json://secuser:secpass@hooks.example.kz/path/sectail", "json://hooks.example.kz/…"),
    (
        "jsons://hooks.example.kz:8443/h?+Authorization=Bearer%20secbearer",
        "jsons://hooks.example.kz:8443/…",
    ),
    ("json://hooks.example.kz/h?:apikey=secpayload&:token=secfield", "json://hooks.example.kz/…"),
    ("json://hooks.example.kz/h?-token=secget&-sig=secsig", "json://hooks.example.kz/…"),
    ("json://127.0.0.1:9/hook?:apikey=secapikey&+X-Api-Key=secheader", "json://127.0.0.1:9/…"),
    ("xml://secuser:secpass@hooks.example.kz/x?+X-Token=secxml", "xml://hooks.example.kz/…"),
    ("xmls://hooks.example.kz/x?:key=secxmlpayload", "xmls://hooks.example.kz/…"),
    ("form://secuser:secpass@hooks.example.kz/f?:apikey=secform", "form://hooks.example.kz/…"),
    ("forms://hooks.example.kz/f?-token=secformget&+Cookie=secc", "forms://hooks.example.kz/…"),
    ("mailto://secuser:secpass@mail.example.kz", "mailto://mail.example.kz/…"),
    (
        "mailtos://duty:secmailpass@mail.example.kz?smtp=smtp.example.kz&to=secdesk@example.kz",
        "mailtos://mail.example.kz/…",
    ),
    ("tgram://123456789:secbottoken/-1001234567890", "tgram://…"),
    ("slack://secTokenA/secTokenB/secTokenC/#duty-room", "slack://…"),
    ("slack://secbotname@secTokenA/secTokenB/secTokenC", "slack://…"),
    ("discord://secwebhookid/secwebhooktoken", "discord://…"),
    ("matrixs://secuser:secmatrixtoken@matrix.example.kz/#secroom", "matrixs://…"),
    ("matrix://secmatrixtoken@matrix.example.kz/#secroom", "matrix://…"),
    # Microsoft Teams, through Power Automate: the signature is in the path.
    (
        "workflows://prod-00.westus.logic.azure.com:443/secworkflow/secsignature",
        "workflows://prod-00.westus.logic.azure.com:443/…",
    ),
    ("ntfy://secuser:secpass@ntfy.example.kz/sectopic", "ntfy://…"),
    ("ntfys://ntfy.example.kz/sectopic?token=secntfytoken", "ntfys://…"),
    ("ntfy://sectopiconly", "ntfy://…"),
    ("gotify://gotify.example.kz/secgotifytoken", "gotify://gotify.example.kz/…"),
    ("gotifys://gotify.example.kz:8443/path/secgotifytoken", "gotifys://gotify.example.kz:8443/…"),
    ("pover://secuserkey@secapptoken", "pover://…"),
    ("pbul://secaccesstoken", "pbul://…"),
    ("rockets://secuser:secpass@chat.example.kz/#secroom", "rockets://chat.example.kz/…"),
    ("mmosts://chat.example.kz/secmattermosttoken", "mmosts://chat.example.kz/…"),
    (
        "signal://signal.example.kz:8080/+77010000000/+77020000000",
        "signal://signal.example.kz:8080/…",
    ),
    (
        "apprises://secuser:secpass@apprise.example.kz/secapprisetoken",
        "apprises://apprise.example.kz/…",
    ),
]


@pytest.mark.parametrize(("url", "hint"), FORMS, ids=[url.split("://")[0] for url, _ in FORMS])
def test_the_hint_is_the_scheme_and_server_only(url: str, hint: str) -> None:
    assert apprise.Apprise.instantiate(url) is not None, "a URL apprise accepts"
    assert target_hint(url) == hint
    assert masked_url(url) == hint
    assert "sec" not in hint.lower()
    assert "77010000000" not in hint


@pytest.mark.parametrize(
    "url",
    [
        # An unencoded "/" in a password would make apprise read part of it as host and port.
        "json://user:1234/5678@hooks.example.kz/x",
        "json://secretword/path",
        "json://hooks.example.kz:notaport/x",
    ],
)
def test_what_does_not_read_as_a_server_is_not_shown(url: str) -> None:
    assert target_hint(url) == "json://…"


def test_a_string_without_a_scheme_is_unreadable() -> None:
    assert target_hint("secret-without-scheme") == UNREADABLE_HINT
    assert target_hint("sec ret://x") == UNREADABLE_HINT
