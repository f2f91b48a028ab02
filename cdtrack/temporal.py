"""Connection to Temporal with the product's data converter (pydantic payloads, encrypted)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Final

from temporalio.client import Client, Interceptor
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime

from cdtrack.codec import EncryptionCodec
from cdtrack.settings import Settings
from workflows.operation import PHASE_ATTRIBUTE

SEARCH_ATTRIBUTES: Final[list[SearchAttributeKey[str]]] = [PHASE_ATTRIBUTE]


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic payloads, encrypted; failures too.

    A failure's message and stack trace would otherwise reach the server in plaintext (a
    refusal's reason, an activity's error): they travel as an encoded attribute, through the codec.
    """
    active, keys = settings.codec_key_ring()
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(active_key_id=active, keys=keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(
    settings: Settings,
    *,
    interceptors: Sequence[Interceptor] = (),
    runtime: Runtime | None = None,
) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        interceptors=interceptors,
        runtime=runtime,
    )
