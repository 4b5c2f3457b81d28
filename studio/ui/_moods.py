"""The mood picker: the mood boards as cards (name, palette swatches, keywords, pictures); pick
one (the storyboard follows it), paint one again, or ask for more like one."""

from __future__ import annotations

import secrets
from typing import Any

import traitlets

from studio.errors import InvalidInput
from studio.ui._base import StudioWidget

__all__ = ["MoodPicker"]


class MoodPicker(StudioWidget):
    """``MoodPicker("Night Drive")``: the project's mood boards, live."""

    front = "moods"
    listens = ("mood.", "take.", "project.updated", "job.")

    moods = traitlets.List(traitlets.Dict()).tag(sync=True)
    chosen = traitlets.Unicode("").tag(sync=True)
    working = traitlets.Unicode("").tag(sync=True)
    """What a mood job is doing now ("" when none)."""

    async def load(self) -> None:
        boards = await self.client.moodboards(self.project_id)
        jobs = await self.client.jobs(status=["queued", "running"], project_id=self.project_id)
        tool = next(
            (j for j in jobs if j.kind == "session.tool" and "mood" in j.params.get("tool", "")),
            None,
        )
        with self.hold_sync():
            self.moods = [
                {
                    "id": m["id"],
                    "number": i + 1,
                    "name": m["name"],
                    "palette": m["palette"],
                    "keywords": m["keywords"],
                    "description": m["description"],
                    "images": [
                        {"id": t["id"], "sha": t["asset_sha256"]}
                        for t in m["takes"]
                        if t["asset_sha256"]
                    ],
                }
                for i, m in enumerate(boards["moods"])
            ]
            self.chosen = boards["project"]["mood_id"] or ""
            self.working = _doing(tool.params["tool"]) if tool else ""

    def on_event(self, event: dict[str, Any]) -> None:
        data = event.get("data") or {}
        if (
            event.get("type") == "job.updated"
            and isinstance(data, dict)
            and data.get("kind") == "session.tool"
            and data.get("status") == "failed"
        ):
            error = data.get("error") or {}
            self.error = str(error.get("message") or "the mood job failed")

    def media_keys(self) -> set[tuple[str, str]]:
        return {(i["sha"], "thumb") for m in self.moods for i in m["images"]}

    def _number(self, content: dict[str, Any]) -> str:
        for mood in self.moods:
            if mood["id"] == content.get("mood"):
                return str(mood["number"])
        raise InvalidInput(
            f"mood {str(content.get('mood'))[:40]!r} is not one of this project's mood boards",
            hint="pick one of the boards shown",
        )

    async def _tool(self, tool: str, arguments: dict[str, Any]) -> None:
        self.working = _doing(tool)
        await self.client.submit_job(
            "session.tool",
            {
                "project_id": self.project_id,
                "tool": tool,
                "arguments": arguments,
                "seed": secrets.randbelow(2**31),
            },
            project_id=self.project_id,
            force=True,
        )

    async def _act_pick(self, content: dict[str, Any]) -> None:
        await self._tool("choose", {"kind": "mood", "which": self._number(content)})

    async def _act_repaint(self, content: dict[str, Any]) -> None:
        await self._tool("repaint_mood", {"which": self._number(content)})

    async def _act_more(self, content: dict[str, Any]) -> None:
        await self._tool("more_moods", {"like": self._number(content), "n": 2})

    async def _act_make(self, _content: dict[str, Any]) -> None:
        await self._tool("make_moods", {"n": 4})


def _doing(tool: str) -> str:
    return {
        "choose": "choosing the mood; the storyboard follows it",
        "repaint_mood": "painting the board again",
        "more_moods": "making boards like it",
        "make_moods": "making mood boards",
    }.get(tool, tool)
