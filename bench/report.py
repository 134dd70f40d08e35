"""bench/RESULTS.md, the bench table in docs/benchmarks/index.md, and the charts: from one run."""


def fmt(value, digits=1):
    return "–" if value is None else f"{value:.{digits}f}"


def med(stat):
    return stat["median"] if stat else None


def cell(stat, digits=1):
    if not stat:
        return "–"
    return f"{fmt(stat['median'], digits)} ({fmt(stat['min'], digits)}–{fmt(stat['max'], digits)})"


def targets(results):
    """[(what, measured, target text, met)] for every target of issue 23, from this run."""
    rows = []
    curve = results.get("capacity")
    if curve:
        points = curve["points"]
        rate = str(curve.get("cpu_rate", 10))
        naive = curve.get("naive")
        orderly_ms = med(points[rate].get("cpu_ms_per_order")) if rate in points else None
        naive_ms = med(naive.get("cpu_ms_per_order")) if naive else None
        if orderly_ms and naive_ms:
            ratio = orderly_ms / naive_ms
            unsteady = [name for name, p in (("Orderly", points[rate]), ("seed-naive", naive))
                        if not steady(p)]  # fmt: skip
            caveat = (f"; not steady ({' and '.join(unsteady)} finished fewer orders in the window "
                      "than were placed: a busy machine?)" if unsteady else "")  # fmt: skip
            rows.append((f"CPU per order at {rate}/s, whole stack except the load generator: "
                         f"Orderly ÷ seed-naive ({fmt(orderly_ms, 0)} ÷ {fmt(naive_ms, 0)} ms){caveat}",
                         f"{ratio:.2f}", "≤ 1.3", ratio <= 1.3))  # fmt: skip
        locust = [med(p.get("locust_ms_per_order")) for p in
                  (points.get(rate), curve.get("api")) if p]  # fmt: skip
        locust = [value for value in locust if value is not None]
        if locust:
            worst = max(locust)
            rows.append((f"load generator CPU per order at {rate}/s (form / API: "
                         f"{' / '.join(fmt(v, 1) for v in locust)} ms)", f"{fmt(worst, 1)} ms",
                         "≤ 5 ms", worst <= 5))  # fmt: skip
        knee = curve["knee"]
        limit = curve.get("limit")
        named = f"; at {limit['rate']}/s: {limit['statement']}" if limit else ""
        rows.append((f"knee: highest offered rate with p95 checkout → all steps final ≤ 2 s{named}",
                     f"{knee or 0} orders/s", "≥ 30, limit named",
                     bool(knee and knee >= 30 and (limit or knee == max(map(int, points))))))  # fmt: skip
        idle = med(points["1"]["p50_s"])
        at_10 = med(points["10"]["p95_s"]) if "10" in points else None
        if idle and at_10:
            ratio = at_10 / idle
            rows.append(("p95 checkout → all steps final at 10/s ÷ one order alone "
                         f"({fmt(at_10, 2)} s ÷ {fmt(idle, 2)} s)", f"{ratio:.2f}", "≤ 1.5",
                         ratio <= 1.5))  # fmt: skip
    sweep = results.get("gateway_sweep")
    if sweep:
        latencies = sorted({int(key.split("@")[1]) for key in sweep})
        worst = max(med(sweep[f"orderly@{ms}"]["p95_ms"]) / med(sweep[f"floor@{ms}"]["p95_ms"])
                    for ms in latencies)  # fmt: skip
        rows.append(("Orderly ÷ floor checkout p95 at 8 users, worst gateway latency",
                     f"{worst:.2f}", "≤ 1.10", worst <= 1.10))  # fmt: skip
    isolation = results.get("queue_isolation")
    if isolation:
        ratio = isolation["backlog_over_idle"]
        rows.append(("payments p95 with a 10,000-deep emails backlog ÷ idle", f"{ratio:.2f}",
                     "≤ 1.2", ratio <= 1.2))  # fmt: skip
    publish = results.get("publish")
    if publish:
        ratio = med(publish["publish_over_apply_async"])
        rows.append((f"publishing per order ÷ bare apply_async ({fmt(med(publish['request_path']), 2)}"
                     f" ÷ {fmt(med(publish['apply_async']), 2)} ms)", f"{ratio:.2f}", "≤ 1.5",
                     ratio <= 1.5))  # fmt: skip
    return rows


def steady(point) -> bool:
    """The window finished at least 80% as many orders as it placed: the stack kept up (a few
    seconds' window holds a second's orders at each end, so it is not exact)."""
    placed, finished = med(point.get("placed_in_window")), med(point.get("finished_in_window"))
    return bool(placed and finished) and finished >= 0.8 * placed


def earlier_targets(results):
    """Issue 17's targets that issue 23 does not restate, still measured."""
    rows = []
    sweep = results.get("gateway_sweep")
    if sweep:
        latencies = sorted({int(key.split("@")[1]) for key in sweep})
        orderly = [med(sweep[f"orderly@{ms}"]["p95_ms"]) for ms in latencies]
        moved = max(orderly) / min(orderly)
        rows.append((f"Orderly checkout p95, slowest ÷ fastest across {latencies} ms gateways",
                     f"{moved:.2f}", "≤ 1.10", moved <= 1.10))  # fmt: skip
    throughput = results.get("worker_throughput")
    if throughput:
        ratio = throughput["base_over_bare"]
        rows.append(
            ("base task ÷ bare task, no-op throughput", f"{ratio:.2f}", "≥ 0.9", ratio >= 0.9)
        )
    return rows


def cpu_table(curve):
    """CPU ms per order by process kind at the comparison rate: form, API, seed-naive."""
    rate = str(curve.get("cpu_rate", 10))
    columns = [("Orderly, form", curve["points"].get(rate)), ("Orderly, API", curve.get("api")),
               ("seed-naive", curve.get("naive"))]  # fmt: skip
    columns = [(name, point) for name, point in columns if point]
    if not columns:
        return []
    kinds = sorted({kind for _, point in columns for kind in point.get("cpu_by_kind", {})})
    order = [k for k in kinds if k not in ("locust", "s3", "postgres (this database)")]
    lines = ["", f"**CPU per order at {rate} orders/s** (ms of CPU per order that finished in the "
             "steady window, by process kind: whole process trees, reaped children included; "
             "median of the runs). The stack's total leaves out the load generator and the S3 "
             "stand-in (moto; both variants upload the same PDFs to it). *postgres* is the whole "
             "server; *postgres (this database)* samples this database's backends alone, a lower "
             "bound, shown as a cross-check on a shared machine.", "",
             "| process kind | " + " | ".join(name for name, _ in columns) + " |",
             "|---|" + "---|" * len(columns)]  # fmt: skip

    def row(label, values):
        return f"| {label} | " + " | ".join(values) + " |"

    for kind in order:
        lines.append(row(kind, [fmt(med(p["cpu_by_kind"].get(kind)), 1) for _, p in columns]))
    lines.append(row("**stack total**", [f"**{fmt(med(p.get('cpu_ms_per_order')), 1)}**"
                                         for _, p in columns]))  # fmt: skip
    for kind in ("postgres (this database)", "s3"):
        if kind in kinds:
            lines.append(row(f"{kind} (apart)",
                             [fmt(med(p["cpu_by_kind"].get(kind)), 1) for _, p in columns]))  # fmt: skip
    lines.append(row("load generator (per order placed)",
                     [fmt(med(p.get("locust_ms_per_order")), 1) for _, p in columns]))  # fmt: skip
    lines.append(row("cores busy: stack / whole machine (/proc/stat)",
                     [f"{fmt(med(p.get('cores_used')), 2)} / {fmt(med(p.get('machine_cores')), 2)}"
                      for _, p in columns]))  # fmt: skip
    lines.append(row("orders placed / finished in the window (steady when about equal)",
                     [f"{fmt(med(p.get('placed_in_window')), 0)} / {fmt(med(p.get('finished_in_window')), 0)}"
                      for _, p in columns]))  # fmt: skip
    lines.append(row("checkout p95 ms", [cell(p.get("checkout_p95_ms"), 0) for _, p in columns]))
    lines.append(row("p95 s, checkout → all steps final", [cell(p.get("p95_s"), 2)
                                                            for _, p in columns]))  # fmt: skip
    naive = curve.get("naive")
    if naive and rate in curve["points"]:
        orderly = curve["points"][rate]["cpu_by_kind"]
        ratios = []
        for kind in order:
            o, n = med(orderly.get(kind)), med(naive["cpu_by_kind"].get(kind))
            if o is not None and n:
                ratios.append(f"{kind} {o / n:.1f}×")
        if ratios:
            lines += ["", "Orderly (form) ÷ seed-naive by kind: " + ", ".join(ratios) + "."]
    return lines


def report(results, meta):
    """Markdown: every figure as median (min–max) of the runs."""
    lines = [
        f"Measured {meta['date']} on {meta['machine']}; {meta['runs']} runs of "
        f"{meta['duration']} s each, median (min–max). Gateway latency "
        f"{meta['gateway_latency_ms']} ms unless stated. {meta['load_note']}",
        "",
        "**Targets of issue 23** (each computed from this one run)",
        "",
        "| target | measured | target | met |",
        "|---|---|---|---|",
    ]
    lines += [f"| {what} | {value} | {target} | {'yes' if met else '**no**'} |"
              for what, value, target, met in targets(results)]  # fmt: skip
    earlier = earlier_targets(results)
    if earlier:
        lines += [
            "",
            "| earlier target (issue 17) | measured | target | met |",
            "|---|---|---|---|",
        ]
        lines += [f"| {what} | {value} | {target} | {'yes' if met else '**no**'} |"
                  for what, value, target, met in earlier]  # fmt: skip
    curve = results.get("capacity")
    if curve:
        lines += cpu_table(curve)
        lines += ["", "**Capacity**: checkout to every shopper step final, every process as "
                  "`make dev` runs it (web 2×4 threads, workers per the Procfile, beat, Flower)",
                  "", "| offered orders/s | achieved | finished | p50 s | p95 s | checkout p95 ms "
                  "| p95 s: charge / e-mail / invoice | CPU ms per order (stack) | cores busy: stack / machine "
                  "| CPU share (top 4) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for rate, point in curve["points"].items():
            cpu = point.get("cpu") or {"cores_used": None, "share": {}}
            top = sorted(cpu["share"].items(), key=lambda kv: -kv[1])[:4]
            share = ", ".join(f"{kind} {value:.0%}" for kind, value in top)
            lines.append(f"| {rate} | {cell(point['achieved'])} | {fmt(med(point['finished']) * 100, 0)}% "
                         f"| {cell(point['p50_s'], 2)} | {cell(point['p95_s'], 2)} "
                         f"| {cell(point['checkout_p95_ms'], 0)} | {fmt(med(point.get('charge_p95_s')), 2)} / "
                         f"{fmt(med(point.get('email_p95_s')), 2)} / {fmt(med(point.get('invoice_p95_s')), 2)} "
                         f"| {cell(point.get('cpu_ms_per_order'), 0)} "
                         f"| {fmt(med(point.get('cores_used')), 2)} / {fmt(med(point.get('machine_cores')), 2)} "
                         f"| {share} |")  # fmt: skip
        lines += [
            "",
            (
                f"Knee (highest rate with p95 ≤ 2 s): **{curve['knee']} orders/s**. "
                if curve["knee"]
                else "Knee (highest rate with p95 ≤ 2 s): **none** of the rates measured. "
            )
            + (
                f"At {curve['limit']['rate']} orders/s, the first rate past it, the limit is "
                f"**{curve['limit']['statement']}**. "
                if curve.get("limit")
                else ""
            )
            + f"Where the time goes at {meta.get('profile_rate', '?')} orders/s, process by process and "
            "in PostgreSQL: [results/capacity-profile.txt](results/capacity-profile.txt) "
            "(py-spy and pg_stat_activity, during one more run not counted above).",
        ]
    sweep = results.get("gateway_sweep")
    if sweep:
        lines += [
            "",
            "**The shopper's wait against the gateway**: checkout at 8 users (workers stopped)",
            "",
            "| gateway ms | variant | req/s | p50 ms | p95 ms |",
            "|---|---|---|---|---|",
        ]
        for key, row in sweep.items():
            variant, latency = key.split("@")
            lines.append(f"| {latency} | {variant} | {cell(row['rps'])} | {cell(row['p50_ms'], 0)} "
                         f"| {cell(row['p95_ms'], 0)} |")  # fmt: skip
    publish = results.get("publish")
    if publish:
        lines += ["", "**Publishing one order** (ms per order, orders and bare publishes alternating)",
                  "", "| part | ms |", "|---|---|",
                  f"| outbox row INSERT (in the checkout transaction) | {cell(publish['outbox_insert'], 3)} |",
                  f"| publish the signature (after commit) | {cell(publish['publish'], 3)} |",
                  f"| queue the sent mark | {cell(publish['queue_sent_mark'], 3)} |",
                  f"| **on the request path** | {cell(publish['request_path'], 3)} |",
                  f"| sent marks, batched UPDATE in a background thread (its CPU time) | {cell(publish['sent_marks_flush'], 3)} |",
                  f"| bare `apply_async` of a no-op | {cell(publish['apply_async'], 3)} |",
                  f"| bare Redis `LPUSH` | {cell(publish['lpush'], 3)} |",
                  f"| cross-check: place_order − place_order without outbox | {cell(publish['difference_ms'], 3)} |",
                  f"| place_order with outbox + publish | {cell(publish['place_order'], 2)} |"]  # fmt: skip
    throughput = results.get("worker_throughput")
    if throughput:
        lines += [
            "",
            "| worker, no-op tasks/s (-c 2) | tasks/s |",
            "|---|---|",
            f"| bare Celery task | {cell(throughput['bench.bare_noop'], 0)} |",
            f"| base task, result ignored | {cell(throughput['bench.noop'], 0)} |",
            f"| base task, result stored | {cell(throughput['bench.noop_stored'], 0)} |",
            f"| base task writing its TaskAttempt row | {cell(throughput['bench.noop_recorded'], 0)} |",
        ]
    metrics = results.get("metrics_cost")
    if metrics:
        lines += [
            "",
            "| task metrics (prometheus_client multiprocess) | result |",
            "|---|---|",
            f"| no-op tasks/s, metrics on / off | {cell(metrics['tasks_per_s_metrics_on'], 0)} / {cell(metrics['tasks_per_s_metrics_off'], 0)} |",
            f"| handlers per task, multiprocess files / in memory (µs) | {cell(metrics['handlers_us_per_task_files'], 0)} / {cell(metrics['handlers_us_per_task_memory'], 0)} |",
        ]
    isolation = results.get("queue_isolation")
    render = results.get("invoice_render")
    if isolation and render:
        lines += ["", "| other | result |", "|---|---|",
                  f"| payment p95, idle emails queue (s) | {cell(isolation['idle']['payment_p95_s'], 2)} |",
                  f"| payment p95, 10,000 queued emails (s) | {cell(isolation['backlog']['payment_p95_s'], 2)} |",
                  f"| invoices/s, Orderly renderer | {cell(render['orderly'], 0)} |",
                  f"| pages/s, minimal reportlab page | {cell(render['minimal'], 0)} |"]  # fmt: skip
    lines += growth_report(results.get("growth"))
    lines += [
        "",
        "![Capacity curve](results/capacity.png)",
        "",
        "![Checkout p95 against gateway latency](results/gateway.png)",
    ]
    return "\n".join(lines) + "\n"


def growth_report(growth):
    if not growth:
        return []
    lines = ["", "**How cost grows** (one run each)", "", "| measure | result |", "|---|---|"]
    relay = growth.get("relay")
    if relay:
        lines += [f"| relay draining {relay['stranded']:,} stranded outbox rows | "
                  f"{relay['rows_per_s']:,.0f} rows/s ({relay['seconds']:.0f} s, {relay['runs']} relay runs); "
                  f"peak memory {relay['peak_rss_mb']:.0f} MB (from {relay['rss_before_mb']:.0f} MB) |"]  # fmt: skip
    report = growth.get("sales_report")
    if report:
        lines += [f"| daily sales report over {report['orders']:,} orders | {report['seconds']:.1f} s "
                  f"(24 hourly parts {report['parts_seconds']:.1f} s); peak memory {report['peak_rss_mb']:.0f} MB "
                  f"(from {report['rss_before_mb']:.0f} MB) |"]  # fmt: skip
    admin = growth.get("admin")
    if admin:
        sizes = admin["sizes"]
        for name, page in admin["pages"].items():
            lines.append(f"| admin: {name} ({sizes['dead_letters']:,} dead letters, "
                         f"{sizes['task_results']:,} task results) | {page['ms']:.0f} ms, "
                         f"{page['queries']} queries |")  # fmt: skip
    status = growth.get("status")
    if status:
        lines.append(f"| status endpoint, {status['users']} pages polling 1/s, one web process (4 threads) "
                     f"| {status['rps']:.0f} req/s, p95 {status['p95_ms']:.0f} ms, "
                     f"{status['failures']} failures; {status['queries_per_request']} queries per request |")  # fmt: skip
    return lines


def charts(results, directory):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = results.get("capacity")
    if curve:
        points = curve["points"]
        rates = [int(rate) for rate in points]
        figure, (latency, cpu) = plt.subplots(1, 2, figsize=(12, 4.2))
        for key, label in (("p50_s", "p50"), ("p95_s", "p95")):
            latency.plot(rates, [med(points[str(r)][key]) for r in rates], marker="o", label=label)
        latency.axhline(2.0, color="grey", linestyle="--", label="2 s target")
        latency.set_xscale("log")
        latency.set_xticks(rates, [str(r) for r in rates])
        latency.set_xlabel("offered orders/s")
        latency.set_ylabel("checkout → all steps final (s)")
        latency.set_title(f"Capacity (knee {curve['knee'] or 'none'}/s)")
        latency.legend()
        kinds = sorted(
            {kind for p in points.values() if p.get("cpu") for kind in p["cpu"]["share"]}
        )
        bottom = [0.0] * len(rates)
        for kind in kinds:
            busy = [(points[str(r)]["cpu"] or {}).get("cores_used", 0)
                    * (points[str(r)]["cpu"] or {"share": {}})["share"].get(kind, 0) for r in rates]  # fmt: skip
            cpu.bar([str(r) for r in rates], busy, bottom=bottom, label=kind)
            bottom = [a + b for a, b in zip(bottom, busy, strict=True)]
        cpu.set_xlabel("offered orders/s")
        cpu.set_ylabel("cores busy")
        cpu.set_title("CPU by process kind")
        cpu.legend(fontsize=7, ncol=2)
        figure.tight_layout()
        figure.savefig(directory / "capacity.png", dpi=110)
    sweep = results.get("gateway_sweep")
    if sweep:
        latencies = sorted({int(key.split("@")[1]) for key in sweep})
        figure, axis = plt.subplots(figsize=(6.5, 4))
        for variant in ("floor", "orderly", "inline"):
            axis.plot(latencies, [med(sweep[f"{variant}@{ms}"]["p95_ms"]) for ms in latencies],
                      marker="o", label=variant)  # fmt: skip
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xticks(latencies, [f"{ms} ms" for ms in latencies])
        axis.set_xlabel("gateway latency")
        axis.set_ylabel("checkout p95 at 8 users (ms)")
        axis.set_title("The shopper's wait against the gateway")
        axis.legend()
        figure.tight_layout()
        figure.savefig(directory / "gateway.png", dpi=110)
