"""Operations: create from a plan, list, read state and timeline, and every steering action."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/operations", tags=["operations"])
