"""Name each process's metric files so processes in several containers can share a directory.

In multiprocess mode (PROMETHEUS_MULTIPROC_DIR set) prometheus_client writes
one file per process, named by pid. Containers sharing the directory (the
compose stack's metrics volume) reuse pids, so the host name goes in too.
Imported by every module that defines metrics, before it defines them. The
environment is read at import, as prometheus_client itself reads it.
"""

import os
import socket

from prometheus_client import values


def process_identifier() -> str:
    # "_" separates the parts of the file name prometheus_client parses.
    return f"{socket.gethostname().replace('_', '-')}-{os.getpid()}"


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    values.ValueClass = values.MultiProcessValue(process_identifier=process_identifier)
