"""A three-node RabbitMQ cluster of the tests' own, on loopback.

Each node is a `rabbitmq-server` with its own node name, AMQP and
distribution ports (from a range of their own, see cluster_ports),
configuration, data and log directories under a temporary directory, no
plugins, and one Erlang cookie for the three of them and their
`rabbitmqctl` (HOME points at it). The machine's own node (rabbit@localhost
on 5672, its cookie in /var/lib/rabbitmq) is never touched: nothing here
reads /etc/rabbitmq. Nodes 2 and 3 join node 1 with `rabbitmqctl
join_cluster`. Starting the three takes about 15 s on two cores, so a test
module starts one cluster for all its tests.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import kombu

from .helpers import wait_for
from .lanes import current_lane, lane_index

# Nodes come back on the port they had (the cluster's clients know no other),
# so their ports come from a range no other server of the tests' is given
# (tests.processes.free_port hands out 20000-22999, one block per lane): a
# port freed by a killed node could be taken by the next server started.
_CLUSTER_PORTS = 24_000
_PORTS_PER_LANE = 50


def cluster_ports(count: int) -> list[int]:
    """`count` free ports from this lane's slice of the cluster range (bind-checked)."""
    first = _CLUSTER_PORTS + _PORTS_PER_LANE * lane_index(current_lane())
    ports = []
    for port in range(first, first + _PORTS_PER_LANE):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"fewer than {count} free ports in {first}-{first + _PORTS_PER_LANE - 1}")


SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # not /usr/sbin's wrapper, which su's
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"


def available() -> bool:
    return Path(SERVER).exists() and Path(CTL).exists() and shutil.which("erl") is not None


class RabbitNode:
    def __init__(self, cluster: "RabbitCluster", index: int, port: int, dist_port: int):
        self.cluster = cluster
        self.index = index
        self.name = f"orderly-{current_lane()}-{cluster.tag}-{index}@localhost"
        self.port = port
        self.dist_port = dist_port
        self.directory = cluster.directory / f"node{index}"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def env(self) -> dict:
        directory = self.directory
        return {
            "PATH": os.environ["PATH"],
            "HOME": str(self.cluster.home),  # its .erlang.cookie
            "LANG": "C.UTF-8",
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(directory / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(directory / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(directory / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(directory / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"),
            "RABBITMQ_LOG_BASE": str(directory / "log"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def prepare(self) -> None:
        (self.directory / "mnesia").mkdir(parents=True, exist_ok=True)
        (self.directory / "log").mkdir(exist_ok=True)
        (self.directory / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\n"
            "loopback_users = none\n"
            # Test data only: no fsync worries, but never refuse publishes for
            # disk space on a CI machine's small /tmp.
            "disk_free_limit.absolute = 50MB\n"
        )
        (self.directory / "rabbitmq-env.conf").write_text("")
        (self.directory / "enabled_plugins").write_text("[].\n")

    def start(self) -> "RabbitNode":
        log = (self.directory / "stdout.log").open("ab")
        self.process = subprocess.Popen(
            [SERVER], env=self.env(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        return self

    def wait_started(self, timeout: float = 60) -> None:
        def started():
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.log_tail()}")
            return self.ctl("await_startup", "--timeout", "5", check=False).returncode == 0

        wait_for(started, timeout=timeout, what=f"RabbitMQ node {self.name}",
                 diagnostics=self.log_tail)  # fmt: skip

    def ctl(self, *args, check=True, timeout=60) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [CTL, "-n", self.name, *args], env=self.env(), capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(
                f"rabbitmqctl {' '.join(args)} on {self.name}: {result.stdout}{result.stderr}"
            )
        return result

    def kill(self) -> None:
        """SIGKILL the node's whole process group: a machine lost, no goodbye to the cluster."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited:\n{self.log_tail()}")
        try:
            with kombu.Connection(self.url, connect_timeout=1) as connection:
                connection.ensure_connection(max_retries=1)
        except Exception:  # not listening yet
            return False
        return True

    def running(self) -> bool:
        return bool(self.process) and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        path = self.directory / "log" / f"{self.name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return f"--- {path.name} (tail) ---\n" + "\n".join(text.splitlines()[-lines:])


class RabbitCluster:
    def __init__(self, directory: Path, size: int = 3):
        self.directory = directory
        self.tag = secrets.token_hex(3)
        self.home = directory / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16).upper())
        cookie.chmod(0o400)
        ports = cluster_ports(2 * size)
        self.restarted: set[str] = set()
        self.nodes = [
            RabbitNode(self, index, ports[2 * index - 2], ports[2 * index - 1])
            for index in range(1, size + 1)
        ]

    @property
    def url(self) -> str:
        """Every node, in kombu's failover form."""
        return ";".join(node.url for node in self.nodes)

    def start(self) -> "RabbitCluster":
        started = time.monotonic()
        for node in self.nodes:
            node.prepare()
            node.start()
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(lambda node: node.wait_started(), self.nodes))
        first, *others = self.nodes

        def join(node):
            node.ctl("stop_app")
            node.ctl("reset")
            node.ctl("join_cluster", first.name)
            node.ctl("start_app")

        # One at a time: two nodes joining at once both change Mnesia's schema,
        # and under CI load one failed start_app ({badmatch, mnesia_app start});
        # RabbitMQ's own cluster tests hit the same (rabbitmq-server#15502).
        for node in others:
            join(node)
        wait_for(lambda: self.running_nodes(first) == {n.name for n in self.nodes},
                 timeout=30, what="all three nodes in the cluster")  # fmt: skip
        self.start_seconds = time.monotonic() - started
        return self

    def running_nodes(self, via: RabbitNode) -> set[str]:
        status = json.loads(via.ctl("cluster_status", "--formatter", "json").stdout)
        return set(status.get("running_nodes", []))

    def any_running(self) -> RabbitNode:
        return next(node for node in self.nodes if node.running())

    def node_named(self, name: str) -> RabbitNode:
        return next(node for node in self.nodes if node.name == name)

    def leader_of(self, queue: str) -> RabbitNode:
        """The node that leads a quorum queue (or holds a classic one)."""
        listed = self.any_running().ctl("list_queues", "name", "leader", "--formatter", "json")
        names = {node.name: node for node in self.nodes}
        for row in json.loads(listed.stdout):
            if row["name"] == queue and row.get("leader") in names:
                return names[row["leader"]]
        for node in self.nodes:  # a classic queue: the node that lists it as local
            if node.running():
                local = node.ctl("list_queues", "--local", "name", "--formatter", "json")
                if any(row["name"] == queue for row in json.loads(local.stdout)):
                    return node
        raise AssertionError(f"no queue {queue!r}: {listed.stdout}")

    def restart_killed(self) -> None:
        """Start killed nodes again, without waiting; they rejoin the cluster they knew."""
        for node in self.nodes:
            if not node.running():
                node.start()
                self.restarted.add(node.name)

    def wait_all_running(self) -> None:
        """Every restarted node accepts AMQP connections again (a no-op when none was).

        Its listener opens last, once it has rejoined the cluster and its
        queues; a connection is far quicker to try than rabbitmqctl (an Erlang VM).
        """
        for node in self.nodes:
            if node.name in self.restarted:
                wait_for(node.answers, timeout=60, what=f"{node.name} back",
                         diagnostics=node.log_tail)  # fmt: skip
                self.restarted.discard(node.name)

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()
