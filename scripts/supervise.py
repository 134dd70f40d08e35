"""Run the Procfile's processes under supervisor, which restarts whichever dies.

    python scripts/supervise.py [--only NAME ...] [--later NAME ...] [--dir var/supervisor]

The Procfile stays the one list of processes (compose is checked against
it); this turns each line into a supervisor [program] and runs supervisord
in the foreground:

- a process that exits (a crash, an OOM kill, a worker's "Unrecoverable
  error" after a broker hiccup) is started again within seconds; the others
  keep serving;
- each line's output goes to this terminal, prefixed with its name;
- Ctrl-C (or SIGTERM) stops every process, each with its own stop signal
  and the whole process group, and exits 0;
- so does a hangup (the terminal closed): supervisord itself would take
  SIGHUP as "reload" and restart everything with no terminal to write to,
  so supervisord runs in a session of its own and this script, which the
  terminal's signals reach, turns SIGHUP into a stop.

`--later flower` leaves a line stopped until `supervisorctl start orderly:flower`:
`make dev` starts Flower once the workers answer, so that Flower's first look
at them (an inspect at start-up) finds them instead of warning four times.

Like honcho did, `.env` fills in variables the environment does not set.
`supervisorctl -c <dir>/supervisord.conf status|restart orderly:NAME` works too.
"""

import argparse
import hashlib
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import environ

ROOT = Path(__file__).resolve().parent.parent

# Seconds a stopping process may take before supervisor kills its group. A
# worker's soft shutdown (CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT, 20 s) fits.
STOP_WAIT_SECONDS = 30


def procfile(path: Path) -> dict[str, str]:
    """{name: command} for each `name: command` line of a Procfile."""
    lines = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line)
        if match:
            lines[match[1]] = match[2]
    return lines


def program(name: str, command: str, *, autostart: bool = True) -> str:
    """A supervisor [program] running one Procfile line through bash, output prefixed."""
    # The program's own output goes through a prefixing sed (a process
    # substitution, so the command stays supervisor's direct child and its
    # exit is seen at once); -u keeps lines flowing as they are written.
    script = f"exec > >(exec sed -u 's/^/{name:<16}| /') 2>&1; {command}"
    return "\n".join(
        [
            f"[program:{name}]",
            # % starts a supervisor format string ("%(ENV_X)s"); %h is Celery's.
            "command=/bin/bash -c " + shlex.quote(script).replace("%", "%%"),
            f"directory={ROOT}",
            f"autostart={str(autostart).lower()}",
            "autorestart=true",
            # Up this long counts as started; a line failing faster than that
            # ten times running (e.g. Flower without credentials) is left
            # stopped ("FATAL") while the rest keep going.
            "startsecs=2",
            "startretries=10",
            "stopsignal=TERM",
            f"stopwaitsecs={STOP_WAIT_SECONDS}",
            "stopasgroup=true",
            "killasgroup=true",
            # SIGTERM starts a worker's soft shutdown (settings,
            # CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT); Celery reads this at import.
            'environment=REMAP_SIGTERM="SIGQUIT"',
            "stdout_logfile=/dev/stdout",
            "stdout_logfile_maxbytes=0",
            "redirect_stderr=true",
            "",
        ]
    )


# A Unix socket's path must fit in sun_path (108 bytes on Linux, with its NUL),
# and supervisord first binds "<path>.<its pid>" (supervisor/http.py), a pid of
# up to seven digits (pid_max is at most 2**22): 107 bytes failed in CI.
SUPERVISORD_TEMP_SUFFIX = ".4194304"
SOCKET_PATH_MAX = 107 - len(SUPERVISORD_TEMP_SUFFIX)


def control_socket(directory: Path) -> Path:
    """The control socket: in `directory`, or, when that path is too long for a Unix
    socket (a deep checkout, a test's tmp dir), in the temp directory under a name
    derived from `directory`, so each directory still has its own."""
    socket = directory.resolve() / "supervisor.sock"
    if len(os.fsencode(socket)) <= SOCKET_PATH_MAX:
        return socket
    digest = hashlib.sha256(os.fsencode(socket)).hexdigest()[:16]
    # $TMPDIR can itself be deep (a CI runner's per-job directory): /tmp then.
    for temp in (tempfile.gettempdir(), "/tmp"):  # noqa: S108 (the socket has a password)
        fallback = Path(temp) / f"orderly-supervisor-{digest}.sock"
        if len(os.fsencode(fallback)) <= SOCKET_PATH_MAX:
            return fallback
    raise SystemExit(f"no directory holds a Unix socket path short enough for {socket}")


def config(processes: dict[str, str], directory: Path, later: frozenset[str] = frozenset()) -> str:
    # The control socket gets a password of this run's own: without one
    # supervisord logs a CRIT line about it at every start.
    password = secrets.token_hex(16)
    socket = control_socket(directory)
    sections = [
        "[supervisord]",
        "nodaemon=true",
        f"logfile={directory / 'supervisord.log'}",
        f"pidfile={directory / 'supervisord.pid'}",
        # Warnings and up reach the terminal: a process that exits unexpectedly
        # ("exited: worker-payments (terminated by SIGKILL; not expected)") or
        # has to be killed at stop. The routine "spawned"/"success" lines of
        # each start do not; `supervisorctl status` shows every state.
        "loglevel=warn",
        # As root, say so: otherwise a CRIT line asks for it at every start.
        *(["user=root"] if os.geteuid() == 0 else []),
        "",
        "[unix_http_server]",
        f"file={socket}",
        "username=orderly",
        f"password={password}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{socket}",
        "username=orderly",
        f"password={password}",
        "",
    ]
    sections += [
        program(name, command, autostart=name not in later) for name, command in processes.items()
    ]
    # One group: supervisor stops a group's processes all at once (group by
    # group otherwise, which made Ctrl-C wait for each worker in turn).
    sections += ["[group:orderly]", f"programs={','.join(processes)}", ""]
    return "\n".join(sections)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--procfile", type=Path, default=ROOT / "Procfile")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these lines")
    parser.add_argument(
        "--later", nargs="+", metavar="NAME", default=[], help="leave these stopped at first"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(os.environ.get("ORDERLY_SUPERVISOR_DIR") or ROOT / "var" / "supervisor"),
        help="config, socket and log (ORDERLY_SUPERVISOR_DIR, var/supervisor)",
    )
    args = parser.parse_args(argv)

    processes = procfile(args.procfile)
    if args.only:
        unknown = sorted(set(args.only) - set(processes))
        if unknown:
            parser.error(f"not in {args.procfile.name}: {', '.join(unknown)}")
        processes = {name: processes[name] for name in args.only}
    unknown = sorted(set(args.later) - set(processes))
    if unknown:
        parser.error(f"--later: not run: {', '.join(unknown)}")
    if (ROOT / ".env").exists() and os.environ.get("DJANGO_READ_DOT_ENV_FILE") != "false":
        environ.Env.read_env(ROOT / ".env")  # never overrides the real environment
    # The programs (celery, gunicorn) come from this interpreter's environment.
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    args.dir.mkdir(parents=True, exist_ok=True)
    conf = args.dir / "supervisord.conf"
    conf.write_text(config(processes, args.dir.resolve(), frozenset(args.later)))
    conf.chmod(0o600)  # it holds the control socket's password
    sys.exit(run_supervisord(conf))


def run_supervisord(conf: Path) -> int:
    """Run supervisord until it exits, forwarding Ctrl-C and SIGTERM; SIGHUP stops it too."""
    supervisord = subprocess.Popen(  # noqa: S603 (our own config)
        [shutil.which("supervisord"), "-c", str(conf)],
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )

    def forward(signum, _frame):
        supervisord.send_signal(signal.SIGTERM if signum == signal.SIGHUP else signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    relay(supervisord.stdout.fileno(), sys.stdout.buffer)
    return supervisord.wait()


def relay(source: int, sink) -> None:
    """Copy supervisord's output (its own and every program's) to ours until it ends.

    supervisord does not write to the terminal itself: once the terminal has
    hung up, a write there fails (EIO), and supervisord failing to log its
    own shutdown died before stopping anything. Here such a failure only
    stops the copying; the output is still read, so no program blocks on a
    full pipe.
    """
    copying = True
    while chunk := os.read(source, 65536):
        if copying:
            try:
                sink.write(chunk)
                sink.flush()
            except OSError:  # EIO or EPIPE: nobody is reading any more
                copying = False


if __name__ == "__main__":
    main()
