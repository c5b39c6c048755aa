"""Serving the dashboard: gunicorn with worker processes, each building its own app on the shared database.

This module owns how ``riskmodel serve`` runs the app (:func:`serve`): a gunicorn master process binding the address
and ``workers`` processes with the threaded (``gthread``) worker, each with :data:`THREADS` threads. The dataset given
on the command line is validated and stored (made the active version) once, in the master, before any worker starts;
each worker then opens the installation's database and builds the app with
:func:`dashboard.app.create_app` ``(None, ...)``, so all workers show the same versions, users and sessions (the
session key is shared through ``$RISKMODEL_HOME/secret_key`` or ``RISKMODEL_SECRET_KEY``:
:func:`dashboard.auth.secret_key`).
SIGTERM or Ctrl-C stops the master and its workers gracefully.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

__all__ = ["THREADS", "DashboardServer", "serve"]

#: threads per worker process (requests served at once by one worker)
THREADS = 4
#: seconds a worker may take to start (it builds the app and loads the active version) or stay silent
WORKER_TIMEOUT = 300
#: seconds given to running requests when stopping
GRACEFUL_TIMEOUT = 10


def bind_address(host: str, port: int) -> str:
    """gunicorn's ``bind`` for a host and port (IPv6 addresses in brackets).

    Examples
    --------
    >>> bind_address("127.0.0.1", 8050), bind_address("::1", 8050)
    ('127.0.0.1:8050', '[::1]:8050')
    """
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


class DashboardServer(BaseApplication):
    """A gunicorn application whose workers each run :func:`dashboard.app.create_app` on the installation's database.

    Parameters
    ----------
    options : dict
        gunicorn settings (``bind``, ``workers``, ...).
    auth_required : bool or None
        Passed to :func:`dashboard.app.create_app` (``True`` when serving on a public address).
    """

    def __init__(self, options: dict, auth_required: bool | None):
        self.options, self.auth_required = options, auth_required
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key.lower(), value)

    def load(self):
        from dashboard.app import create_app

        return create_app(None, auth_required=self.auth_required).server


def serve(host: str, port: int, *, workers: int = 1, auth_required: bool | None = None,
          threads: int = THREADS) -> None:
    """Run the dashboard under gunicorn until stopped (SIGTERM, SIGINT); the dataset must already be active.

    Parameters
    ----------
    host, port : str, int
        The address to bind.
    workers : int
        Worker processes (at least 1).
    auth_required : bool or None
        ``True``: sign-in always required; ``None``: as soon as user accounts exist (:func:`dashboard.auth.install`).
    threads : int
        Threads per worker.

    Examples
    --------
    >>> serve("127.0.0.1", 8050, workers=2)  # doctest: +SKIP
    """
    options = {
        "bind": bind_address(host, port),
        "workers": max(1, int(workers)),
        "worker_class": "gthread",
        "threads": max(1, int(threads)),
        "timeout": WORKER_TIMEOUT,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        "proc_name": "riskmodel-dashboard",
        "errorlog": "-",
        "loglevel": "info",
        "accesslog": None,
        "control_socket_disable": True,  # gunicorn >= 25: no run-time control socket in the home directory
    }
    DashboardServer(options, auth_required).run()
