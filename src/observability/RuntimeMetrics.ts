// Process and Node.js runtime metrics under the names prom-client made standard (process_*,
// nodejs_*), so stock dashboards and alerts work: CPU, resident memory, heap, event-loop lag and
// GC pauses. Gauges are read at scrape time; GC pauses are observed as they happen.
import { monitorEventLoopDelay, type PerformanceEntry, PerformanceObserver } from "node:perf_hooks"
import { Effect, Metric, MetricBoundaries, MetricState, type Scope } from "effect"

const GC_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5]
export const GC_KINDS = ["minor", "major", "incremental", "weakcb", "other"] as const

export const runtimeMetrics = {
  cpuSeconds: Metric.counter("process_cpu_seconds_total", {
    incremental: true,
    description: "Total user and system CPU time spent in seconds"
  }),
  residentMemory: Metric.gauge("process_resident_memory_bytes", { description: "Resident memory size in bytes" }),
  startTime: Metric.gauge("process_start_time_seconds", {
    description: "Start time of the process since unix epoch in seconds"
  }),
  heapUsed: Metric.gauge("nodejs_heap_size_used_bytes", { description: "V8 heap in use, in bytes" }),
  heapTotal: Metric.gauge("nodejs_heap_size_total_bytes", { description: "V8 heap allocated, in bytes" }),
  externalMemory: Metric.gauge("nodejs_external_memory_bytes", {
    description: "Memory of C++ objects bound to JavaScript objects, in bytes"
  }),
  eventLoopLagMean: Metric.gauge("nodejs_eventloop_lag_mean_seconds", {
    description: "Mean event-loop delay since the previous scrape, in seconds"
  }),
  eventLoopLagP99: Metric.gauge("nodejs_eventloop_lag_p99_seconds", {
    description: "99th percentile event-loop delay since the previous scrape, in seconds"
  }),
  eventLoopLagMax: Metric.gauge("nodejs_eventloop_lag_max_seconds", {
    description: "Longest event-loop delay since the previous scrape, in seconds"
  }),
  gcDuration: Metric.histogram(
    "nodejs_gc_duration_seconds",
    MetricBoundaries.fromIterable(GC_BUCKETS),
    "Garbage collection pauses by kind, in seconds"
  )
} as const

/** Whether a metric name belongs to the runtime set (the exposition filter lets them through). */
export const isRuntimeMetric = (name: string) => name.startsWith("process_") || name.startsWith("nodejs_")

const gcKind = (entry: PerformanceEntry): (typeof GC_KINDS)[number] => {
  // node:perf_hooks constants: 1 minor (scavenge), 4 major (mark-sweep-compact), 8 incremental, 16 weakcb.
  const kind = (entry as { detail?: { kind?: number } }).detail?.kind
  return kind === 1 ? "minor" : kind === 4 ? "major" : kind === 8 ? "incremental" : kind === 16 ? "weakcb" : "other"
}

/**
 * Starts the event-loop monitor and the GC observer (stopped with the scope) and returns the
 * collector the exposition runs before each snapshot. The series are process-wide: two
 * collectors in one process (tests) read the same counters, so CPU is set to the process's total,
 * not incremented by each.
 */
export const startRuntimeMetrics: Effect.Effect<Effect.Effect<void>, never, Scope.Scope> = Effect.gen(function* () {
  const m = runtimeMetrics
  const loop = monitorEventLoopDelay({ resolution: 10 })
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      Effect.runSync(Metric.update(Metric.tagged(m.gcDuration, "kind", gcKind(entry)), entry.duration / 1000))
    }
  })
  yield* Effect.acquireRelease(
    Effect.sync(() => {
      loop.enable()
      gc.observe({ entryTypes: ["gc"] })
    }),
    () =>
      Effect.sync(() => {
        loop.disable()
        gc.disconnect()
      })
  )
  const startSeconds = Math.round((Date.now() - process.uptime() * 1000) / 10) / 100
  yield* Metric.set(m.startTime, startSeconds)
  for (const kind of GC_KINDS) yield* Metric.value(Metric.tagged(m.gcDuration, "kind", kind))

  return Effect.gen(function* () {
    const cpu = process.cpuUsage()
    const total = (cpu.user + cpu.system) / 1e6
    const current = yield* Metric.value(m.cpuSeconds)
    const counted = MetricState.isCounterState(current) ? Number(current.count) : 0
    if (total > counted) yield* Metric.incrementBy(m.cpuSeconds, total - counted)
    const memory = process.memoryUsage()
    yield* Metric.set(m.residentMemory, memory.rss)
    yield* Metric.set(m.heapUsed, memory.heapUsed)
    yield* Metric.set(m.heapTotal, memory.heapTotal)
    yield* Metric.set(m.externalMemory, memory.external)
    // The histogram holds nanoseconds; NaN before the first sample.
    const ns = (v: number) => (Number.isFinite(v) ? v / 1e9 : 0)
    yield* Metric.set(m.eventLoopLagMean, ns(loop.mean))
    yield* Metric.set(m.eventLoopLagP99, ns(loop.percentile(99)))
    yield* Metric.set(m.eventLoopLagMax, ns(loop.max))
    loop.reset()
  })
})
