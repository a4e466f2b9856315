"""Runs TensorBoard on a Unix socket: ``python -m arenahub.extensions.tbserver --socket S --logdir D --path-prefix P``.

A TCP port on loopback would be reachable by every notebook on the host; a socket file in the
server's private runtime folder is reachable only from inside this user's sandbox, and the
extension proxies it to the signed-in user.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from functools import partial
from typing import Any


def _make_unix_server(socket_path: str, wsgi_app: Any, flags: Any) -> Any:
    from tensorboard.program import TensorBoardServer
    from werkzeug.serving import make_server

    class UnixSocketServer(TensorBoardServer):
        """TensorBoard's WSGI app served by werkzeug on a Unix socket."""

        def __init__(self) -> None:
            if os.path.exists(socket_path):
                os.unlink(socket_path)
            old = os.umask(0o077)  # the socket file: owner only
            try:
                self._server = make_server(f"unix://{socket_path}", 0, wsgi_app, threaded=True)
            finally:
                os.umask(old)

        def serve_forever(self) -> None:
            self._server.serve_forever()

        def shutdown(self) -> None:
            self._server.shutdown()

        def get_url(self) -> str:
            return f"unix://{socket_path}"

    return UnixSocketServer()


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--socket", required=True, help="Path of the Unix socket to listen on.")
    parser.add_argument("--logdir", required=True, help="Folder of event files (one sub-folder per run).")
    parser.add_argument("--path-prefix", default="", help="URL prefix TensorBoard's pages are served under.")
    parser.add_argument("--reload-s", type=int, default=5, help="Seconds between re-reads of the event files.")
    args = parser.parse_args(argv)

    from tensorboard import default, program

    tensorboard = program.TensorBoard(
        plugins=default.get_plugins(), server_class=partial(_make_unix_server, args.socket)
    )
    # load_fast=false keeps the Python loader: the Rust data server would open a TCP port.
    tensorboard.configure(
        logdir=args.logdir, path_prefix=args.path_prefix.rstrip("/"), reload_interval=args.reload_s,
        load_fast="false",
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    url = tensorboard.launch()
    sys.stderr.write(f"TensorBoard serving {args.logdir} at {url}\n")
    sys.stderr.flush()
    stop.wait()
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    return 0


if __name__ == "__main__":
    sys.exit(main())
