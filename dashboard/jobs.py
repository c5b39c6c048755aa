"""Long-running work of the dashboard: background callbacks (Dash ``DiskcacheManager``) and finished results on disk.

* :func:`background_manager` - the Dash background callback manager of an app (``create_app`` passes it as
  ``background_callback_manager``). A background callback (``@callback(..., background=True)``) runs in a child
  process forked from the web server's process; its progress, result and cancellation go through a
  :class:`diskcache.Cache` on disk, so any worker process of ``riskmodel serve --workers N`` can answer the browser's
  polling requests (they are ordinary ``POST /_dash-update-component`` requests: the sign-in guard of
  :mod:`dashboard.auth` sees them like any other). The fork is made safe for a multi-threaded server
  (:meth:`_Manager.call_job_fn`, :func:`_in_child`): no numba compilation held across it, default signal handling,
  none of the server's sockets or database connections in the child, and a daemonic child that stops with its
  worker.
* :class:`ResultCache` - finished results as JSON text on disk, by key (a Monte Carlo run per dataset version, years
  and seed), so a second visit shows them without running again. Values are JSON, never pickles.

Both live under :func:`cache_dir` (``$RISKMODEL_HOME/cache``, or ``HOME/cache`` for an app made with ``home=``), in
private folders (mode 0700) made when first needed: ``callbacks`` on the first background callback, or, in local use
(no session key), on the first page view, since Dash keeps its secret for signing job handles there.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import stat
import sys
import threading
from pathlib import Path
from typing import Any

from dash import DiskcacheManager
from dash.background_callback.managers import BaseBackgroundCallbackManager
from dash.background_callback.managers.diskcache_manager import _make_job_fn

__all__ = ["NotStored", "ResultCache", "attach", "background_manager", "cache_dir", "private_dir", "results"]

log = logging.getLogger(__name__)
_EXTENSION = "riskmodel.jobs"
#: cached results are dropped when not read for this long (seconds): 90 days
RESULT_EXPIRE_SECONDS = 90 * 24 * 3600
#: most disk space the result cache takes before the least recently used results go (bytes)
RESULT_SIZE_LIMIT = 512 * 2**20


def cache_dir(home: Path | str | None = None) -> Path:
    """The cache folder: ``home/cache``, by default ``$RISKMODEL_HOME/cache`` (not created here).

    Examples
    --------
    >>> cache_dir("/srv/rm").as_posix()
    '/srv/rm/cache'
    """
    if home is None:
        from riskmodel.store import riskmodel_home

        home = riskmodel_home()
    return Path(home).expanduser().resolve() / "cache"


def private_dir(path: Path) -> Path:
    """Make the folder ``path``, and each missing parent, owner-only (mode 0700, whatever the umask); folders that
    exist already keep their mode.

    Examples
    --------
    >>> d = private_dir(Path(tempfile.mkdtemp()) / "cache" / "results")  # doctest: +SKIP
    >>> oct(d.stat().st_mode & 0o777), oct(d.parent.stat().st_mode & 0o777)  # doctest: +SKIP
    ('0o700', '0o700')
    """
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # another process made it first
            continue
        folder.chmod(0o700)  # mkdir's mode is filtered by the umask
    return path


class _LazyCache:
    """A :class:`diskcache.Cache` opened on first use (its folder made private then), and shared by the threads and,
    after a fork, the child processes of this process (diskcache reopens its SQLite connection per process)."""

    def __init__(self, folder: Path, **settings: Any):
        self.folder = Path(folder)
        self._settings = settings
        self._cache = None
        self._lock = threading.Lock()

    @property
    def cache(self):
        if self._cache is None:
            with self._lock:
                if self._cache is None:
                    import diskcache

                    self._cache = diskcache.Cache(str(private_dir(self.folder)), **self._settings)
        return self._cache

    def __getattr__(self, name: str):
        return getattr(self.cache, name)


class _Manager(DiskcacheManager):
    """Dash's :class:`~dash.DiskcacheManager` whose cache folder is made only when a background callback first needs
    it (Dash registers every background callback with every manager when the page modules load)."""

    def __init__(self, folder: Path):
        self.handle = _LazyCache(folder)  # before the base class registers the callbacks known so far with it
        self.expire = None
        BaseBackgroundCallbackManager.__init__(self, None)

    def make_job_fn(self, fn, progress, key=None):
        return _make_job_fn(fn, self.handle, progress)

    def call_job_fn(self, key, job_fn, args, context):
        """Start the job in a forked child process (as Dash's manager does), made safe for a multi-threaded server.

        * **numba's compiler lock.** A fork copies only the forking thread: a lock another thread holds at that
          moment stays locked forever in the child. The job's threads compile or load numba kernels, and the web
          server's threads hold that lock for seconds at a time (warming the simulation kernels after a start), so
          the fork happens while holding it, and the child, which inherits it held by its only thread, releases it.
        * **Daemonic**: when the worker process stops, its jobs stop too (instead of the worker waiting for them
          and running on as orphans); see :func:`_in_child` for the rest of the child's set-up.

        Returns the child's process id.
        """
        from multiprocess import Process

        module = sys.modules.get("numba.core.compiler_lock")
        lock = getattr(module, "global_compiler_lock", None)

        def in_child(*job_args):
            if lock is not None:
                lock.release()  # held by this thread since the fork: free it for the job's own threads
            _in_child()
            return job_fn(*job_args)

        with lock if lock is not None else contextlib.nullcontext():
            process = Process(target=in_child, args=(key, self._make_progress_key(key), args, context), daemon=True)
            process.start()
        return process.pid


def _in_child() -> None:
    """In a job process, before the job: the default handling of stop signals (not the web server's: gunicorn's
    worker would only note a SIGTERM and carry on), no use of the server's sockets (each inherited socket, the
    listening one included, becomes ``/dev/null``: the port is free as soon as the server stops, and nothing the job
    does can write to a client or database connection of the server), and fresh database connections (SQLAlchemy's
    advice after a fork: the pool forgets the inherited ones without closing them)."""
    for name in ("SIGTERM", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _drop_inherited_sockets()
    try:
        from dashboard import state

        state.versions().store.engine.dispose(close=False)
    except Exception:  # no app or no store here: nothing inherited to forget
        log.debug("no database pool to reset in the job process", exc_info=True)


def _drop_inherited_sockets() -> None:
    """Point every open socket descriptor of this process at ``/dev/null`` (Linux: ``/proc/self/fd``; elsewhere
    nothing). The descriptor numbers stay valid, so objects that still hold them close ``/dev/null`` later."""
    folder = Path("/proc/self/fd")
    if not folder.is_dir():  # pragma: no cover - not Linux
        return
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for entry in os.listdir(folder):
            try:
                fd = int(entry)
                if fd > 2 and fd != null and stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.dup2(null, fd)
            except (ValueError, OSError):  # the listing's own descriptor, or one closed meanwhile
                continue
    finally:
        os.close(null)


def background_manager(folder: Path) -> DiskcacheManager:
    """The background callback manager of an app, with its cache in ``folder`` (made private, on first use).

    Parameters
    ----------
    folder : Path
        Where the job results, progress and cancellation live (``cache_dir(home) / "callbacks"``). Every worker
        process of one installation must use the same folder.

    Examples
    --------
    >>> app = Dash(background_callback_manager=background_manager(cache_dir() / "callbacks"))  # doctest: +SKIP
    """
    import diskcache  # noqa: F401 - fail early, with the package's name, when it is missing
    import multiprocess  # noqa: F401
    import psutil  # noqa: F401

    return _Manager(Path(folder))


class NotStored(RuntimeError):
    """A result could not be written to the result cache (not JSON, disk full, unwritable folder)."""


class ResultCache:
    """Finished results as JSON on disk, by key, with a "latest" pointer per scope (e.g. per dataset version).

    Parameters
    ----------
    folder : Path
        The folder (made private on first use). Every worker process of an installation uses the same one.

    Notes
    -----
    Values are stored as JSON text (diskcache stores ``str`` as it is, without pickle). A read that fails (a corrupt
    or unreadable entry) is logged and treated as a miss: the caller runs again; a write that fails raises
    :class:`NotStored`.

    Examples
    --------
    >>> cache = ResultCache(Path(tempfile.mkdtemp()))  # doctest: +SKIP
    >>> cache.put("k", {"a": 1}); cache.get("k")  # doctest: +SKIP
    {'a': 1}
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._disk = _LazyCache(self.folder, size_limit=RESULT_SIZE_LIMIT, eviction_policy="least-recently-used")

    def get(self, key: str) -> dict | None:
        """The result stored under ``key``, or None."""
        try:
            text = self._disk.get(f"result:{key}")
            return None if text is None else json.loads(text)
        except Exception:  # a damaged entry is a miss, never an error page
            log.exception("reading the cached result %s failed", key)
            return None

    def put(self, key: str, value: dict, *, scope: str | None = None) -> None:
        """Store ``value`` (JSON-serialisable: no NaN) under ``key``; with ``scope``, it also becomes that scope's
        latest. Raises :class:`NotStored` (from the underlying error) when it cannot be written."""
        try:
            text = json.dumps(value, separators=(",", ":"), allow_nan=False)
            self._disk.set(f"result:{key}", text, expire=RESULT_EXPIRE_SECONDS)
            if scope is not None:
                self._disk.set(f"latest:{scope}", key, expire=RESULT_EXPIRE_SECONDS)
        except Exception as exc:
            raise NotStored(f"the result {key} could not be stored: {exc}") from exc

    def latest(self, scope: str) -> str | None:
        """The key of the result stored last for ``scope``, if it is still there."""
        try:
            key = self._disk.get(f"latest:{scope}")
            return key if isinstance(key, str) and f"result:{key}" in self._disk.cache else None
        except Exception:
            log.exception("reading the latest result of %s failed", scope)
            return None


def attach(server, folder: Path) -> ResultCache:
    """Give a Flask server (``app.server``) its result cache in ``folder``."""
    cache = ResultCache(folder)
    server.extensions[_EXTENSION] = cache
    return cache


_fallback: ResultCache | None = None
_fallback_lock = threading.Lock()


def results() -> ResultCache:
    """The result cache of the app serving this request (in a background job: of the app that started it; with no
    app at all: ``$RISKMODEL_HOME/cache/results``)."""
    global _fallback
    from flask import current_app, has_app_context

    if has_app_context():
        found = current_app.extensions.get(_EXTENSION)
        if found is not None:
            return found
    with _fallback_lock:
        if _fallback is None:
            _fallback = ResultCache(cache_dir() / "results")
        return _fallback
