"""The chat session: the conversation with the studio's orchestrator. Messages, the answer as it
is worked out (the turn's stage: thinking, then each tool as it runs), tool cards that say what
was made, suggestion chips, and a stop button."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import traitlets

from studio.errors import InvalidInput
from studio.ui._base import StudioWidget

__all__ = ["ChatSession"]

MAX_MESSAGE = 4000


class ChatSession(StudioWidget):
    """``ChatSession("Night Drive")``: the project's latest session (or a new one), live.
    ``session=`` picks another; ``say(text)`` sends a message from Python."""

    front = "chat"
    listens = ("session.",)

    session_id = traitlets.Unicode("").tag(sync=True)
    messages = traitlets.List(traitlets.Dict()).tag(sync=True)
    working = traitlets.Dict().tag(sync=True)
    """The turn being answered: ``{"job", "stage", "message"}``, empty when none."""
    suggestions = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(self, project: Any, *, session: str | None = None, **kwargs: Any) -> None:
        self._wanted_session = session
        super().__init__(project, **kwargs)

    async def load(self) -> None:
        if not self.session_id:
            self.session_id = await self._session()
        _, turns = await self.client.session(self.session_id)
        jobs = await self.client.jobs(
            status=["queued", "running"], project_id=self.project_id, limit=50
        )
        answering = next(
            (
                j
                for j in jobs
                if j.kind == "session.turn" and j.params.get("session_id") == self.session_id
            ),
            None,
        )
        last = next((t for t in reversed(turns) if t.role == "assistant"), None)
        with self.hold_sync():
            self.messages = [_message(t.model_dump(mode="json")) for t in turns]
            self.suggestions = list(last.suggestions) if last and not answering else []
            self.working = (
                {"job": answering.id, "stage": answering.stage, "message": answering.message}
                if answering
                else {}
            )

    async def _session(self) -> str:
        if self._wanted_session:
            found, _ = await self.client.session(self._wanted_session)
            if found.project_id != self.project_id:
                raise InvalidInput("that session belongs to another project")
            return str(found.id)
        sessions = await self.client.sessions(self.project_id)
        if sessions:
            return str(max(sessions, key=lambda s: s.updated_at).id)
        return str((await self.client.start_session(self.project_id)).id)

    def on_event(self, event: dict[str, Any]) -> None:
        """The turn being answered, as its job reports (no reload until it ends)."""
        data = event.get("data") or {}
        if (
            event.get("type") in ("job.created", "job.progress", "job.updated")
            and isinstance(data, dict)
            and data.get("kind") == "session.turn"
            and (data.get("params") or {}).get("session_id") == self.session_id
        ):
            if data.get("status") in ("queued", "running"):
                self.working = {
                    "job": data["id"],
                    "stage": data.get("stage", ""),
                    "message": data.get("message", ""),
                }
            else:
                self.reload()

    def say(self, text: str) -> concurrent.futures.Future[Any]:
        """Send ``text`` to the session; the answer arrives in the widget (and the future)."""
        return self.run(self._act_say({"text": text}))

    async def _act_say(self, content: dict[str, Any]) -> None:
        text = content.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("write a message first")
        if len(text) > MAX_MESSAGE:
            raise InvalidInput(f"a message holds at most {MAX_MESSAGE} characters")
        sent = await self.client.send_message(self.session_id, text.strip())
        self.suggestions = []
        self.working = {"job": sent["job"]["id"], "stage": "queued", "message": ""}
        self.messages = [*self.messages, _message(sent["turn"])]

    async def _act_stop(self, _content: dict[str, Any]) -> None:
        job = self.working.get("job")
        if not job:
            raise InvalidInput("nothing is being answered")
        await self.client.cancel_job(job)
        self.working = {}


def _message(turn: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": turn["id"],
        "role": turn["role"],
        "text": turn["text"],
        "tools": [_card(use) for use in turn.get("tools", [])],
    }


def _card(use: dict[str, Any]) -> dict[str, Any]:
    """What a tool card shows: the tool, how it went, and what it made in a line."""
    result = use.get("result") or {}
    summary = result.get("summary") if isinstance(result, dict) else None
    facts = {
        k: v
        for k, v in (result.items() if isinstance(result, dict) else [])
        if k != "summary" and isinstance(v, int | float | str) and len(str(v)) < 60
    }
    return {
        "name": use["name"],
        "status": use.get("status", "done"),
        "summary": summary if isinstance(summary, str) else "",
        "facts": facts,
        "error": use.get("error") or "",
    }
