"""What a form says when the model refuses a value: in the viewer's language, with Russian plural
forms. (When the lifecycle refuses the action: tests/web/test_refusals.py.)"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator

from i18n import Language
from web.forms import field_errors
from web.language import Clock, console_texts
from web.templating import View


class Sample(BaseModel):
    name: Annotated[str, Field(min_length=3, max_length=5)]
    quantity: Annotated[float, Field(gt=0)]
    count: int
    due: datetime
    code: str

    @field_validator("code")
    @classmethod
    def _known(cls, value: str) -> str:
        raise ValueError(f"code {value} is not registered")


def view(language: Language) -> View:
    return View(language=language, clock=Clock(console_texts(language), UTC))


def errors_of(language: Language, **values: object) -> dict[str, str]:
    with pytest.raises(ValidationError) as invalid:
        Sample.model_validate(values)
    return field_errors(invalid.value, view=view(language))


def test_common_errors_are_answered_in_russian_by_their_kind() -> None:
    errors = errors_of(Language.RUSSIAN, name="ab", quantity="much", due="tomorrow", code="X1")
    assert errors == {
        "name": "Введите не менее 3 символов.",
        "quantity": "Введите число, например 12,5.",
        "count": "Заполните это поле.",
        "due": "Введите дату и время.",
        "code": "Значение не подходит: code X1 is not registered",
    }
    assert errors_of(Language.RUSSIAN, name="abcdefg")["name"] == "Введите не более 5 символов."
    assert errors_of(Language.RUSSIAN, quantity=0)["quantity"] == "Введите число больше 0."


def test_english_forms_keep_the_models_own_words() -> None:
    errors = errors_of(Language.ENGLISH, name="a", count="two", code="X1")
    assert errors["name"] == "Enter at least 3 characters."
    assert errors["count"] == "Enter a whole number."
    assert errors["code"] == "code X1 is not registered"
