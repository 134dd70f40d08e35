"""The bench names the limiting resource past the knee from the figures it sampled."""

from bench.limits import limiting_resource

POOLS = {"payments": ("gevent", 32), "reports": ("prefork", 1)}


def point(machine_cores, depth=None, busy=None, lock_waiters=0.0):
    depth = depth or {}
    return {
        "limits": {
            "machine_cores": machine_cores,
            "queue_depth": {q: {"first": a, "last": b, "max": b} for q, (a, b) in depth.items()},
            "pool_busy": busy or {},
            "lock_waiters_mean": lock_waiters,
            "lock_waiters_max": round(lock_waiters * 2),
        },
        "checkout_p95_ms": {"median": 120.0},
    }


def test_busy_cores_name_the_cpu_first():
    statement = limiting_resource(
        point(1.9, depth={"reports": (0, 40)}, busy={"reports": 1.0}), cores=2, pools=POOLS
    )
    assert statement.startswith("CPU: the machine's 2 cores were 95% busy")


def test_a_growing_queue_with_every_slot_busy_names_that_pools_concurrency():
    statement = limiting_resource(
        point(1.2, depth={"reports": (2, 40), "payments": (0, 1)}, busy={"reports": 0.97}),
        cores=2,
        pools=POOLS,
    )
    assert statement.startswith("the reports pool's concurrency (prefork -c 1)")


def test_lock_waits_name_postgresql_and_a_growing_queue_with_free_slots_names_its_workers():
    locks = limiting_resource(point(1.0, lock_waiters=2.5), cores=2, pools=POOLS)
    assert locks.startswith("PostgreSQL locks: 2.5 backends waiting")
    workers = limiting_resource(
        point(1.0, depth={"payments": (0, 30)}, busy={"payments": 10.0}), cores=2, pools=POOLS
    )
    assert workers.startswith("the payments workers: its queue grew from 0 to 30")
