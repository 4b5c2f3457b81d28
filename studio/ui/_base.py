"""What every studio widget shares: the project it shows, its link to the engine, actions that
run off the kernel's thread, reloads driven by the engine's events, media sent as binary, and
a readable error under the widget when something fails.

A widget's front end lives in ``widgets/`` (an ES module and a style sheet per widget, after the
shared ``_base.js`` and ``_base.css``). It sends messages that name an action and its arguments
(``{"action": "approve_image", "scene": id, "take": id}``); the Python side runs the method
``_act_<action>`` on the link's loop, checks every id it is given against what it shows, and
never uses what the browser sends as SQL, a path or code. What changed comes back as the
engine's events, so every view of a project, in any kernel, stays in step.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, ClassVar

import anywidget
import traitlets

from studio.engine import Home
from studio.errors import InvalidInput, StudioError
from studio.model import Project
from studio.ui._link import Link, link

__all__ = ["StudioWidget", "widget_files"]

RELOAD_DELAY = 0.02
"""Seconds a reload waits after an event, so a burst of events makes one reload."""
MEDIA_FETCHES = 6
"""Media fetched from the engine at once for one request of the front end."""
MEDIA_BATCH = 8
"""Media sent to the browser in one message."""
MEDIA_CACHE = 512
"""Thumbnails and clips kept in memory per kernel, newest used last."""


def widget_files() -> Path:
    """The folder of the widgets' front ends: inside the wheel, or the checkout's ``widgets/``."""
    inside = Path(__file__).resolve().parent.parent / "_widgets"
    return inside if inside.is_dir() else Path(__file__).resolve().parents[2] / "widgets"


def _front(name: str) -> tuple[str, str]:
    folder = widget_files()
    esm = (folder / "_base.js").read_text(encoding="utf-8") + (folder / f"{name}.js").read_text(
        encoding="utf-8"
    )
    css = (folder / "_base.css").read_text(encoding="utf-8")
    own = folder / f"{name}.css"
    if own.exists():
        css += own.read_text(encoding="utf-8")
    return esm, css


class _Media:
    """Asset bytes fetched once and kept: thumbnails of pictures, clips as they are. A second
    ask for what is still on its way waits for that fetch instead of making another."""

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[str, str], tuple[bytes, str]] = OrderedDict()
        self._coming: dict[tuple[str, str], concurrent.futures.Future[tuple[bytes, str]]] = {}
        self._lock = threading.Lock()

    async def get(self, studio: Link, sha: str, kind: str) -> tuple[bytes, str]:
        key = (sha, kind)
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found
            coming = self._coming.get(key)
            if coming is None:  # this call fetches it (futures of this kind cross loops)
                self._coming[key] = fetch = concurrent.futures.Future[tuple[bytes, str]]()
        if coming is not None:
            return await asyncio.wrap_future(coming)
        try:
            made = await self._fetch(studio, sha, kind)
        except BaseException as exc:
            with self._lock:
                del self._coming[key]
            fetch.set_exception(exc)
            raise
        with self._lock:
            del self._coming[key]
            if kind != "video":  # a whole render: sent once, not kept
                self._kept[key] = made
                while len(self._kept) > MEDIA_CACHE:
                    self._kept.popitem(last=False)
        fetch.set_result(made)
        return made

    @staticmethod
    async def _fetch(studio: Link, sha: str, kind: str) -> tuple[bytes, str]:
        if kind == "thumb":  # made once by the engine, for every kernel
            return await studio.client.thumbnail(sha), "image/jpeg"
        data, media_type = await studio.client.asset(sha)
        return data, media_type


_media = _Media()


class StudioWidget(anywidget.AnyWidget):
    """The base of the studio's widgets (see the module's docstring)."""

    front: ClassVar[str] = ""
    """The stem of the widget's files in ``widgets/``."""
    listens: ClassVar[tuple[str, ...]] = ()
    """Event types (or their prefixes, ending in ``.``) that make the widget reload."""
    across_projects: ClassVar[bool] = False
    """Whether the widget may show every project (no project given: it hears every event)."""
    front_sets: ClassVar[frozenset[str]] = frozenset()
    """The traits the front end may change (a filter, a search). It may change no other: what
    a widget shows, and the ids its actions are checked against, come from the engine only."""

    project_id = traitlets.Unicode("").tag(sync=True)
    project_name = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    busy = traitlets.Int(0).tag(sync=True)
    """Actions in flight."""
    role = traitlets.Unicode("owner").tag(sync=True)
    """Who the widget acts as (owner, editor, reviewer): the front end offers what it may do;
    the engine refuses the rest whatever the front end sends."""
    viewer = traitlets.Unicode("").tag(sync=True)
    """The name a shared link's key was made for (it signs their comments)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # only where a class names its files: anywidget subclasses each widget again to add
        # its traits, and that subclass must keep them
        if "front" in cls.__dict__:
            cls._esm, cls._css = _front(cls.front)

    def __init__(
        self,
        project: Project | str | None,
        *,
        home: Home | Path | str | None = None,
        key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._link = link(home, key)
        self._reload_lock = threading.Lock()
        self._reload_state = "idle"  # idle, waiting, running, again
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self.on_msg(self._received)
        self._unlisten: Callable[[], None] = lambda: None
        self._warming: asyncio.Task[None] | None = None
        ref = None if project is None and self.across_projects else _ref(project)
        if self._link.on_its_thread():
            # made by another widget's action (a tab opened): nothing may wait here, so the
            # project is looked up and the widget filled in as soon as the loop is free
            self._link.loop.create_task(self._guarded(self._begin(ref)))
        else:
            self._link.call(self._begin(ref))

    async def _begin(self, ref: str | None) -> None:
        caller = await self._link.caller()
        if caller["role"] != "owner":
            self.role, self.viewer = caller["role"], caller["name"]
        if ref is not None:
            found = await self.client.get_project(ref)
            self.project_id, self.project_name = found.id, found.name
        self._unlisten = self._link.listen(self.project_id, self._event)
        await self._reload()
        # the thumbnails are on their way while the front end starts, before it asks for them
        self._warming = self._link.loop.create_task(self._warm())

    async def _warm(self) -> None:
        """Fetch the thumbnails shown into the kernel's cache; one that fails is left for the
        front end's own ask, which shows why."""
        thumbs = [k for k in self.media_keys() if k[1] == "thumb"][: MEDIA_CACHE // 2]
        await asyncio.gather(*self._fetches(thumbs), return_exceptions=True)

    def _fetches(
        self, keys: list[tuple[str, str]]
    ) -> list[Coroutine[Any, Any, tuple[str, str, bytes, str]]]:
        """A fetch through the kernel's cache for each ``(sha256, kind)``, a few at a time."""
        gate = asyncio.Semaphore(MEDIA_FETCHES)

        async def one(sha: str, kind: str) -> tuple[str, str, bytes, str]:
            async with gate:
                data, media_type = await _media.get(self._link, sha, kind)
            return sha, kind, data, media_type

        return [one(sha, kind) for sha, kind in keys]

    # ---- actions from the browser ---------------------------------------------------------------

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """A state update from the front end, kept to the traits it may change."""
        allowed = {k: v for k, v in sync_data.items() if k in self.front_sets}
        if allowed:
            super().set_state(allowed)

    def _received(self, _widget: Any, content: Any, buffers: list[bytes]) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        method = (
            getattr(self, f"_act_{action}", None)
            if isinstance(action, str) and action.isidentifier()
            else None
        )
        if method is None:
            self.error = f"the {type(self).__name__} widget has no action {str(action)[:40]!r}"
            return
        if buffers:  # files sent with the message (an upload), never named by the browser
            content = {**content, "_buffers": [bytes(b) for b in buffers]}
        self.run(method(content))

    def run(self, work: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        """Run ``work`` on the link's loop; a failure shows under the widget."""
        self.busy += 1
        future = self._link.submit(self._guarded(work))
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    async def _guarded(self, work: Coroutine[Any, Any, Any]) -> Any:
        try:
            result = await work
            self.error = ""
            return result
        except StudioError as exc:
            self.error = exc.message + (f" ({exc.hint})" if exc.hint else "")
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.busy = max(0, self.busy - 1)
        return None

    def wait(self, timeout: float = 60.0) -> None:
        """Wait until the actions started so far have finished (for scripts and tests)."""
        for future in list(self._pending):
            with contextlib.suppress(Exception):
                future.result(timeout)

    async def _act_dismiss(self, _content: dict[str, Any]) -> None:
        self.error = ""

    async def _act_media(self, content: dict[str, Any]) -> None:
        """Send the pictures and clips the front end asks for, as binary buffers: fetched a few
        at a time, and sent in small batches as they are ready, so the first cards fill in
        while the rest are still on their way."""
        wanted = content.get("items")
        if not isinstance(wanted, list) or len(wanted) > 200:
            raise InvalidInput("ask for at most 200 media items at once")
        known = self.media_keys()
        asked = []
        for item in wanted:
            sha, kind = (item.get("sha"), item.get("kind")) if isinstance(item, dict) else (0, 0)
            if (sha, kind) in known:  # only what this widget shows is ever fetched
                asked.append((str(sha), str(kind)))
        batch: list[tuple[str, str, bytes, str]] = []
        for ready in asyncio.as_completed(self._fetches(asked)):
            batch.append(await ready)
            if len(batch) >= MEDIA_BATCH:
                self._send_media(batch)
                batch = []
        if batch:
            self._send_media(batch)

    def _send_media(self, batch: list[tuple[str, str, bytes, str]]) -> None:
        items = [
            {"sha": sha, "kind": kind, "type": media_type} for sha, kind, _, media_type in batch
        ]
        self.send({"type": "media", "items": items}, [data for _, _, data, _ in batch])

    def media_keys(self) -> set[tuple[str, str]]:
        """The (sha256, kind) pairs this widget shows and may send: a picture's "thumb", a
        take's "clip", a render's "video"."""
        return set()

    # ---- state from the engine ------------------------------------------------------------------

    def _event(self, event: dict[str, Any]) -> None:
        kind = str(event.get("type", ""))
        self.on_event(event)
        if kind == "link.reconnected" or any(
            kind == want or (want.endswith(".") and kind.startswith(want)) for want in self.listens
        ):
            self.reload()

    def on_event(self, event: dict[str, Any]) -> None:
        """A hook for each of the project's events, before any reload: for what the widget
        shows as it comes (a job's progress) without reading everything again."""

    def reload(self) -> None:
        """Load the widget's state again from the engine (coalesced: a burst of events, one
        reload, and never two at once)."""
        with self._reload_lock:
            if self._reload_state in ("waiting", "again"):
                return
            if self._reload_state == "running":
                self._reload_state = "again"
                return
            self._reload_state = "waiting"
        self._link.loop.call_soon_threadsafe(
            lambda: self._link.loop.create_task(self._reload_soon())
        )

    async def _reload_soon(self) -> None:
        await asyncio.sleep(RELOAD_DELAY)
        await self._reload()

    async def _reload(self) -> None:
        while True:
            with self._reload_lock:
                self._reload_state = "running"
            try:
                await self.load()
            except StudioError as exc:
                self.error = exc.message + (f" ({exc.hint})" if exc.hint else "")
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
            with self._reload_lock:
                if self._reload_state == "again":
                    continue
                self._reload_state = "idle"
                return

    async def load(self) -> None:
        """Read what the widget shows from the engine and set its traits."""

    def close(self) -> None:
        unlisten = getattr(self, "_unlisten", None)
        if unlisten is not None:
            unlisten()
        super().close()

    @property
    def client(self) -> Any:
        return self._link.client


def _ref(project: Project | str | None) -> str:
    if isinstance(project, Project):
        return project.id
    if isinstance(project, str) and project.strip():
        return project.strip()
    raise InvalidInput("say which project: a Project, its id or its name")
