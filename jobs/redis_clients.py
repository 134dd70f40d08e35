"""Every Redis client Orderly opens itself (kombu opens the broker's): direct, or through Sentinel.

The job locks and the beat lease (jobs.locks), the delivery counters
(jobs.worker_loss) and the metrics' marks (ops.order_metrics) call
`client(url)`. Without settings.REDIS_SENTINELS that is
`redis.Redis.from_url(url)`. With it, the master is whichever node the
Sentinels name for settings.REDIS_SENTINEL_MASTER (redis-py's
`Sentinel.master_for`): a connection lost with the old master reconnects to the
new one, and while they fail over every call raises a ConnectionError (a
TemporaryError for the locks), never waits for ever. `url` then gives only
the database number and the password.

Replication is asynchronous: a write the old master acknowledged in its
last moments (a lock taken, a lease renewed, a message published) can be
missing on the replica that takes over. The locks and the lease then expire
early; the broker's messages are published again by the overdue sweep
(jobs.services.overdue). docs/failure-and-recovery.md has the measured figures.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

import redis
from django.conf import settings
from redis.sentinel import Sentinel

logger = logging.getLogger(__name__)

SOCKET_CONNECT_TIMEOUT = 3
SOCKET_TIMEOUT = 5
# A Sentinel answers at once or not at all: a dead node must not hold up finding the master.
SENTINEL_TIMEOUT = 2


def parse_node(node: str) -> tuple[str, int]:
    """("host", port) of "host:port" (a Sentinel's address); ValueError when it is not that."""
    host, sep, port = node.strip().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"{node!r} is not host:port")
    return host.strip("[]"), int(port)


def sentinel_nodes() -> list[tuple[str, int]]:
    """The configured Sentinels as (host, port), in settings order; empty without Sentinel."""
    return [parse_node(node) for node in settings.REDIS_SENTINELS]


def client(url: str, *, socket_timeout: float = SOCKET_TIMEOUT) -> redis.Redis:
    """A client of the Redis `url` names, through the Sentinels when they are configured."""
    nodes = tuple(sentinel_nodes())
    return _client(url, nodes, settings.REDIS_SENTINEL_MASTER if nodes else "", socket_timeout)


@lru_cache(maxsize=8)
def _client(url: str, nodes: tuple, master: str, socket_timeout: float) -> redis.Redis:
    timeouts = {"socket_connect_timeout": SOCKET_CONNECT_TIMEOUT, "socket_timeout": socket_timeout}
    if not nodes:
        return redis.Redis.from_url(url, **timeouts)
    parts = urlsplit(url)
    database = int(parts.path.lstrip("/") or 0)
    sentinel = Sentinel(
        list(nodes),
        sentinel_kwargs={
            "socket_timeout": SENTINEL_TIMEOUT,
            "socket_connect_timeout": SENTINEL_TIMEOUT,
        },
        **timeouts,
    )
    return sentinel.master_for(
        master,
        db=database,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


@dataclass(frozen=True)
class NodeAnswer:
    """What one Sentinel said about the master: its address, or why there is none."""

    node: str
    answered: bool
    master: str | None = None  # "host:port" when this node knows a master that is up
    problem: str = ""


def ask_node(node: str, master: str, timeout: float) -> NodeAnswer:
    host, port = parse_node(node)
    connection = redis.Redis(host, port, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        state = connection.sentinel_masters().get(master)
    except (redis.ConnectionError, redis.TimeoutError, OSError) as error:
        return NodeAnswer(node, answered=False, problem=f"did not answer ({error})")
    except redis.ResponseError as error:  # a Redis that is not a Sentinel
        return NodeAnswer(node, answered=False, problem=f"is not a Sentinel ({error})")
    finally:
        connection.close()
    if state is None:
        return NodeAnswer(node, answered=True, problem=f"does not monitor {master!r}")
    address = f"{state['ip']}:{state['port']}"
    if not state["is_master"] or state["is_sdown"] or state["is_odown"]:
        return NodeAnswer(node, answered=True, problem=f"sees {master!r} at {address} down")
    return NodeAnswer(node, answered=True, master=address)


def ask_sentinels(timeout: float = SENTINEL_TIMEOUT) -> list[NodeAnswer]:
    """Ask every configured Sentinel, at once, where the master is (one answer per node)."""
    nodes = settings.REDIS_SENTINELS
    if not nodes:
        return []
    master = settings.REDIS_SENTINEL_MASTER
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        return list(pool.map(lambda node: ask_node(node, master, timeout), nodes))


def describe(answers: list[NodeAnswer]) -> str:
    """One line: which nodes were tried and what each said."""
    return ", ".join(
        f"{answer.node} ({f'master at {answer.master}' if answer.master else answer.problem})"
        for answer in answers
    )


def log_sentinels_at_start(sender=None, **kwargs) -> None:
    """worker_init / beat_init: say which Sentinels were tried and where they put the master."""
    if not settings.REDIS_SENTINELS:
        return
    answers = ask_sentinels()
    masters = {answer.master for answer in answers if answer.master}
    level = logging.INFO if masters and all(a.answered for a in answers) else logging.WARNING
    logger.log(
        level,
        "Redis through Sentinel, master %r at %s; Sentinels tried: %s",
        settings.REDIS_SENTINEL_MASTER,
        " or ".join(sorted(masters)) or "(no Sentinel knows it)",
        describe(answers),
    )
