"""A JupyterLab server for real-browser tests of anywidget widgets.

``Lab`` starts ``python -m jupyter lab`` in a private folder (its own config, data, runtime,
settings and workspaces, so nothing from the machine's home leaks in), writes notebooks, opens
them in a playwright page, runs them, switches the theme, and runs code in the notebook's own
kernel so a test can check the Python side of a widget. ``screenshot`` saves PNGs under
``build/screenshots/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import nbformat
import psutil  # type: ignore[import-untyped]  # (a dependency of ipykernel)
from jupyter_client.blocking.client import BlockingKernelClient
from playwright.sync_api import Locator, Page

__all__ = ["SCREENSHOTS", "Dashboards", "KernelError", "Lab", "LabError", "screenshot"]

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "screenshots"

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_LIGHT, _DARK = "JupyterLab Light", "JupyterLab Dark"

# The announcements plugin asks "Would you like to get notified about official Jupyter news?"
# in a toast that can cover a widget; ``news_url=None`` alone does not stop the question (the
# front end asks whenever the ``fetchNews`` setting is still "none"), so the plugin is disabled
# and the setting answered "false" as well.
_ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"
_NOTIFICATION_SETTINGS = {"fetchNews": "false", "checkForUpdates": False}

# Run as ``python -c`` before exec'ing the server's module: the server gets SIGTERM if the
# test runner dies (even by SIGKILL), so no server outlives its test run. The pid survives
# both execs.
_BOOT = """\
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    sys.exit("the test runner is gone")
os.execv(sys.executable, [sys.executable, "-m", *sys.argv[2:]])
"""

# A notebook panel by path, from the app's main area.
_FIND_PANEL = """
const findPanel = (path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path) return w;
  }
  return null;
};
"""

_KERNEL_IDLE = f"""(path) => {{
  {_FIND_PANEL}
  const panel = findPanel(path);
  if (!panel || !panel.context.isReady) return false;
  const session = panel.sessionContext && panel.sessionContext.session;
  const kernel = session && session.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}}"""

_RUN_ALL = f"""async ([path, timeoutMs]) => {{
  {_FIND_PANEL}
  const app = window.jupyterapp;
  const panel = findPanel(path);
  if (!panel) throw new Error(`notebook ${{path}} is not open`);
  app.shell.activateById(panel.id);
  for (let i = 0; i < 100 && app.shell.currentWidget !== panel; i++) {{
    await new Promise((resolve) => setTimeout(resolve, 20));
  }}
  let timer;
  const late = new Promise((_, reject) => {{
    timer = setTimeout(() => reject(new Error(`run-all took over ${{timeoutMs}} ms`)), timeoutMs);
  }});
  try {{
    const ok = await Promise.race([app.commands.execute('notebook:run-all-cells'), late]);
    const errors = [];
    for (const cell of panel.content.widgets) {{
      if (cell.model.type !== 'code') continue;
      for (const out of cell.model.outputs.toJSON()) {{
        if (out.output_type === 'error') {{
          errors.push((out.traceback || []).join('\\n') || `${{out.ename}}: ${{out.evalue}}`);
        }}
      }}
    }}
    return {{ok: ok !== false, errors}};
  }} finally {{
    clearTimeout(timer);
  }}
}}"""

_THEME_APPLIED = """([name, light]) =>
  document.body.dataset.jpThemeName === name && document.body.dataset.jpThemeLight === light"""


class LabError(RuntimeError):
    """The server would not start, or the page never reached the state a step waits for."""


class KernelError(RuntimeError):
    """Code run with ``Lab.kernel_exec`` raised; the message is the kernel's traceback."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def screenshot(target: Page | Locator, name: str) -> Path:
    """Save a PNG of a page or an element as ``build/screenshots/<name>.png``; returns the path.

    Animations are disabled so the picture is the settled state, not a frame of a transition.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "screenshot"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{safe}.png"
    target.screenshot(path=str(path), animations="disabled")
    return path


class Lab:
    """One JupyterLab server in a private folder, for one test.

    ``root`` holds everything: ``notebooks/`` (the server's root_dir), ``jupyter/`` (config,
    data, runtime, lab settings and workspaces) and ``server.log``. ``env`` is laid over this
    process's environment for the server and so for its kernels (e.g. ``STUDIO_HOME``).
    """

    def __init__(self, root: Path, env: Mapping[str, str] | None = None) -> None:
        self.root = root.resolve()
        self.root_dir = self.root / "notebooks"
        self.jupyter = self.root / "jupyter"
        self.runtime_dir = self.jupyter / "runtime"
        self.settings_dir = self.jupyter / "lab" / "user-settings"
        self.log_path = self.root / "server.log"
        self.extra_env = dict(env or {})
        self.token = secrets.token_hex(24)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.current: str | None = None  # the notebook last opened with ``open``
        self._clients: dict[str, BlockingKernelClient] = {}

    # -- the server ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environ(self) -> dict[str, str]:
        """The server's environment: ours, minus Jupyter paths, plus private dirs and ``env``."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("JUPYTER", "JPY_")) and k not in {"IPYTHONDIR", "PYTHONSTARTUP"}
        }
        env |= {
            "JUPYTER_CONFIG_DIR": str(self.jupyter / "config"),
            "JUPYTER_DATA_DIR": str(self.jupyter / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.runtime_dir),
            "JUPYTERLAB_SETTINGS_DIR": str(self.settings_dir),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.jupyter / "lab" / "workspaces"),
            "IPYTHONDIR": str(self.jupyter / "ipython"),
            "JUPYTER_PLATFORM_DIRS": "1",  # no deprecation warning about the old layout
        }
        return env | self.extra_env

    def _prepare(self) -> None:
        """Create the private folders and the config that keeps lab quiet and offline."""
        for sub in ("config/labconfig", "data", "runtime", "ipython", "lab/workspaces"):
            (self.jupyter / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root_dir.mkdir(parents=True, exist_ok=True)
        page_config = {"disabledExtensions": {_ANNOUNCEMENTS: True}}
        (self.jupyter / "config" / "labconfig" / "page_config.json").write_text(
            json.dumps(page_config)
        )
        notification = self.settings_dir / "@jupyterlab" / "apputils-extension"
        notification.mkdir(parents=True, exist_ok=True)
        (notification / "notification.jupyterlab-settings").write_text(
            json.dumps(_NOTIFICATION_SETTINGS)
        )

    def _args(self) -> list[str]:
        # containers and CI often run as root, which lab refuses without this
        root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        return [
            "jupyter",
            "lab",
            *root,
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",  # the default one asks PyPI
            "--LanguageServerManager.autodetect=False",  # no scan for language servers
        ]

    def start(self, timeout: float = 60.0) -> Lab:
        """Start the server and wait until ``/api/status`` answers (a new port if taken)."""
        if self.proc is not None:
            raise LabError("this Lab is already started")
        self._prepare()
        for _attempt in range(3):
            self.port = _free_port()
            if sys.platform == "linux":
                cmd = [sys.executable, "-c", _BOOT, str(os.getpid()), *self._args()]
            else:
                cmd = [sys.executable, "-m", *self._args()]
            with self.log_path.open("ab") as log:
                self.proc = subprocess.Popen(
                    cmd,
                    cwd=self.root_dir,
                    env=self.environ(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if self._wait_ready(timeout):
                return self
            if self.proc.poll() is None or "already in use" not in self.log_text():
                break
            self.proc = None  # it lost the race for the port: try another
        self.stop()
        raise LabError(f"jupyter lab did not start; its log ends:\n{self.log_text()[-3000:]}")

    def _wait_ready(self, timeout: float) -> bool:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            with contextlib.suppress(OSError, LabError):
                self._ready()
                return True
            time.sleep(0.1)
        return False

    def _ready(self) -> None:
        """Return once the server answers (raise OSError or LabError until then)."""
        self.api("/api/status", timeout=2)

    def stop(self) -> None:
        """Stop the server's process group and any kernel it started (each in its own session).

        SIGTERM first, so the server shuts its kernels down itself; SIGKILL for what remains.
        """
        for client in self._clients.values():
            client.stop_channels()
        self._clients.clear()
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            children = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        _gone, alive = psutil.wait_procs(children, timeout=5)
        for child in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        psutil.wait_procs(alive, timeout=5)

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log_text(self) -> str:
        """The server's log so far (stdout and stderr), for failure messages."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def api(self, path: str, timeout: float = 10.0) -> Any:
        """GET a REST endpoint of the server (with the token) and return its JSON."""
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"token {self.token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as e:
            raise LabError(f"GET {path}: HTTP {e.code}") from e

    # -- notebooks in the browser ----------------------------------------------------------

    def notebook(self, name: str, cells: Sequence[str]) -> Path:
        """Write a python3 notebook of code cells at ``<root_dir>/<name>``; returns its path."""
        # nbformat has no type hints
        new_cell: Any = nbformat.v4.new_code_cell
        new_notebook: Any = nbformat.v4.new_notebook
        write: Any = nbformat.write
        nb = new_notebook(
            cells=[new_cell(source) for source in cells],
            metadata={
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"},
            },
        )
        path = self.root_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write(nb, str(path))
        return path

    def open(self, page: Page, name: str, timeout: float = 60.0) -> None:
        """Open a notebook in lab and wait until it is loaded and its kernel is idle."""
        page.goto(f"{self.url}/lab/tree/{quote(name)}?token={self.token}")
        self.current = name
        self.wait_idle(page, name, timeout)

    def wait_idle(self, page: Page, name: str | None = None, timeout: float = 60.0) -> None:
        """Wait until the open notebook's kernel is connected and idle."""
        path = self._name(name)
        try:
            page.wait_for_function(_KERNEL_IDLE, arg=path, timeout=timeout * 1000, polling=50)
        except Exception as e:
            raise LabError(f"{path}: no idle kernel after {timeout} s ({e})") from e

    def run_all(self, page: Page, name: str | None = None, timeout: float = 60.0) -> None:
        """Run every cell of the open notebook and wait until the kernel is idle again.

        ``notebook:run-all-cells`` resolves when the last cell has replied; an error in any cell
        raises ``KernelError`` with its traceback, so a broken notebook fails where it breaks.
        """
        path = self._name(name)
        result = page.evaluate(_RUN_ALL, [path, int(timeout * 1000)])
        if result["errors"]:
            raise KernelError(_strip_ansi("\n\n".join(result["errors"])))
        if not result["ok"]:
            raise KernelError(f"{path}: run-all did not complete")
        self.wait_idle(page, path, timeout)

    def theme(self, page: Page, dark: bool) -> None:
        """Switch lab to its dark or light theme and wait until the new theme is showing."""
        name = _DARK if dark else _LIGHT
        page.evaluate(
            "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", name
        )
        page.wait_for_function(_THEME_APPLIED, arg=[name, "false" if dark else "true"])
        # The theme manager shows the splash while it swaps the CSS and shows the shell again
        # on the next animation frame.
        page.locator("#jupyterlab-splash").wait_for(state="detached")

    def _name(self, name: str | None) -> str:
        path = name or self.current
        if path is None:
            raise LabError("no notebook is open: call Lab.open first")
        return path

    # -- the notebook's kernel -------------------------------------------------------------

    def kernel_id(self, name: str | None = None) -> str:
        """The id of the kernel of a notebook's session (default: the notebook last opened)."""
        path = self._name(name)
        sessions: list[dict[str, Any]] = self.api("/api/sessions")
        for session in sessions:
            if session.get("path") == path and session.get("kernel"):
                kernel_id: str = session["kernel"]["id"]
                return kernel_id
        raise LabError(f"no kernel session for {path}: {[s.get('path') for s in sessions]}")

    def _client(self, kernel_id: str, timeout: float) -> BlockingKernelClient:
        client = self._clients.get(kernel_id)
        if client is not None:
            return client
        connection = self.runtime_dir / f"kernel-{kernel_id}.json"
        if not connection.exists():
            raise LabError(f"no connection file {connection}")
        client = BlockingKernelClient(connection_file=str(connection))
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=timeout)
        self._clients[kernel_id] = client
        return client

    def kernel_exec(self, code: str, name: str | None = None, timeout: float = 30.0) -> str:
        """Run code in the kernel the notebook uses and return what it printed to stdout.

        It shares the notebook's namespace (``w`` from a cell is ``w`` here) and does not add to
        its history. An exception raises ``KernelError`` with the traceback text.
        """
        client = self._client(self.kernel_id(name), timeout)
        stdout: list[str] = []
        stderr: list[str] = []

        def collect(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "stream":
                out = stdout if msg["content"]["name"] == "stdout" else stderr
                out.append(msg["content"]["text"])

        reply = client.execute_interactive(
            code,
            store_history=False,
            allow_stdin=False,
            timeout=timeout,
            output_hook=collect,
        )
        content = reply["content"]
        if content["status"] != "ok":
            trace = "\n".join(content.get("traceback", [])) or (
                f"{content.get('ename')}: {content.get('evalue')}"
            )
            raise KernelError(_strip_ansi(trace) + ("\n" + "".join(stderr) if stderr else ""))
        return "".join(stdout)

    def kernel_wait(self, condition: str, name: str | None = None, timeout: float = 10.0) -> None:
        """Wait until a Python expression is true in the notebook's kernel.

        A change made in the browser reaches the kernel as a message of its own, so the kernel
        may not have it yet when the page already shows it.
        """
        deadline = time.monotonic() + timeout
        while True:
            if self.kernel_exec(f"print(bool({condition}))", name) == "True\n":
                return
            if time.monotonic() > deadline:
                raise LabError(f"still false in the kernel after {timeout} s: {condition}")
            time.sleep(0.05)


class Dashboards(Lab):
    """``studio dashboards`` (Voila on ``dashboards/``) in the same private set-up, started the
    way a producer starts it; ``link`` is a dashboard's address for a shared key."""

    def _args(self) -> list[str]:
        return ["studio.cli", "dashboards", f"--port={self.port}", f"--token={self.token}"]

    def _ready(self) -> None:
        with urllib.request.urlopen(f"{self.url}/voila/tree?token={self.token}", timeout=2):
            pass

    def link(self, dashboard: str, key: str | None, project: str | None = None) -> str:
        query = {"token": self.token} | ({"key": key} if key else {})
        query |= {"project": project} if project else {}
        return f"{self.url}/voila/render/{dashboard}.ipynb?{urllib.parse.urlencode(query)}"
