"""Traffik's benchmark command: ``python -m benchmarks`` from the repository root.

Each figure is printed next to the floor it could approach (an awaited bare
dict increment in memory, a bare ``EVALSHA`` of a trivial script on Redis, a
bare ``incr`` on Memcached, the unthrottled endpoint for HTTP) and as a ratio
to it, as medians of warmed-up, interleaved repeats with their min-max spread,
because these machines are shared and noisy.

Modules: ``_targets`` (which backends, which loopback servers), ``_floors``,
``_timing`` (repeat, interleave, summarise), one module per scenario
(``_inmemory``, ``_throughput``, ``_http``/``_uvicorn``/``_app``/``_loadgen``,
``_accuracy``/``_contend``, ``_footprint``, ``_plugins``, ``_scaling`` with
``_load_processes``), the plugins' own runs (``_redis`` with ``_raw_redis``,
``_memcached`` via ``_native``), ``_goals`` (issue #19's goals, met or not) and
``_report`` (tables). ``python -m benchmarks.page RUN.json`` rebuilds the tables of
``docs/benchmarks.md`` from a run's ``--json``.
"""
