"""What a console page answers when it cannot show itself: sign in first, justify first, or an
error page in the viewer's language (never the API's JSON problem)."""

from __future__ import annotations

from urllib.parse import urlencode


class SignInRequired(Exception):  # noqa: N818 - a redirect, not a failure
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path

    @property
    def location(self) -> str:
        return "/sign-in?" + urlencode({"next": self.next_path})


class JustificationRequired(Exception):  # noqa: N818 - a redirect, not a failure
    def __init__(self, operation_id: str, *, next_path: str, reason: str | None) -> None:
        super().__init__(operation_id)
        self.operation_id = operation_id
        self.next_path = next_path
        self.reason = reason

    @property
    def location(self) -> str:
        query = {"next": self.next_path}
        if self.reason:
            query["reason"] = self.reason
        return f"/o/{self.operation_id}/justify?" + urlencode(query)


class ConsoleError(Exception):
    """An error page: `message` is an English message id of the console's catalogue."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
