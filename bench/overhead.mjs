// Instrumentation overhead: the same scripted turns (offline reasoner, embedded simulator) on two
// apps in this process, one with observability fully on (agent metrics + JSONL trace events +
// audit log) and one with AGENT_OBSERVABILITY_ENABLED=false, interleaved round by round.
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import { fromDist } from "./dist.mjs"
import { SCRIPT } from "./script.mjs"
import { collectGarbage, median, round } from "./stats.mjs"

export { SCRIPT } from "./script.mjs"

const { Turn } = await fromDist("agent/Turn.js")
const { AppLive } = await fromDist("app/AppLayer.js")
const { AuditLog } = await fromDist("observability/AuditLog.js")
const { TraceSink } = await fromDist("observability/TraceSink.js")
const { LOCAL_CLI_PRINCIPAL } = await fromDist("domain/Principal.js")

const appRuntime = (env) =>
  ManagedRuntime.make(
    AppLive.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))))
  )

/** The script in one session, then until every trace event and audit record is written. */
const runScript = (runtime, sessionId) =>
  runtime.runPromise(
    Effect.gen(function* () {
      const turn = yield* Turn
      for (const message of SCRIPT) yield* turn.run({ message, sessionId, principal: LOCAL_CLI_PRINCIPAL })
      yield* (yield* TraceSink).flush
      yield* (yield* AuditLog).flush
    })
  )

const spread = (values) => ({
  median: round(median(values), 3),
  min: round(Math.min(...values), 3),
  max: round(Math.max(...values), 3)
})

/**
 * `runs` blocks of `rounds` interleaved rounds each (after `warmup`); a block's ratio is the
 * median of its "on" samples over the median of its "off" samples, for wall time and CPU time.
 * Reported: the median of the blocks' ratios, with min and max.
 */
export const runOverheadBench = async ({ runs = 5, rounds = 30, warmup = 8 } = {}) => {
  const dir = mkdtempSync(join(tmpdir(), "bench-overhead-"))
  const common = { LOG_LEVEL: "error", GUARDRAIL_AUDIT_PATH: join(dir, "audit.jsonl") }
  const on = appRuntime({
    ...common,
    AGENT_METRICS_NAMESPACE: "bench_on",
    AGENT_TRACE_JSONL_PATH: join(dir, "traces-on.jsonl")
  })
  const off = appRuntime({
    ...common,
    GUARDRAIL_AUDIT_PATH: join(dir, "audit-off.jsonl"),
    AGENT_METRICS_NAMESPACE: "bench_off",
    AGENT_OBSERVABILITY_ENABLED: "false",
    AGENT_TRACE_JSONL_PATH: join(dir, "traces-off.jsonl")
  })
  try {
    for (let i = 0; i < warmup; i++) {
      await runScript(on, `warm-on-${i}`)
      await runScript(off, `warm-off-${i}`)
    }
    const measure = async (runtime, sessionId) => {
      const cpu = process.cpuUsage()
      const started = performance.now()
      await runScript(runtime, sessionId)
      const wall = performance.now() - started
      const used = process.cpuUsage(cpu)
      return { wall, cpu: (used.user + used.system) / 1000 }
    }
    collectGarbage()
    const wallRatios = []
    const cpuRatios = []
    const turnMsOn = []
    const turnMsOff = []
    // Each sample is the whole script plus waiting until its trace and audit records are on
    // disk, so the writer's background work is counted where it belongs. Rounds alternate which
    // side goes first; no forced GC while measuring (collecting the instrumentation's garbage is
    // part of its cost). Medians keep bursts of load from elsewhere on the machine out.
    for (let run = 0; run < runs; run++) {
      const on_ = { wall: [], cpu: [] }
      const off_ = { wall: [], cpu: [] }
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? [on, off] : [off, on]
        const samples = new Map()
        for (const runtime of order) samples.set(runtime, await measure(runtime, `run-${run}-round-${r}`))
        for (const [runtime, into] of [
          [on, on_],
          [off, off_]
        ]) {
          into.wall.push(samples.get(runtime).wall)
          into.cpu.push(samples.get(runtime).cpu)
        }
      }
      wallRatios.push(median(on_.wall) / median(off_.wall))
      cpuRatios.push(median(on_.cpu) / median(off_.cpu))
      turnMsOn.push(median(on_.wall) / SCRIPT.length)
      turnMsOff.push(median(off_.wall) / SCRIPT.length)
    }
    await on.runPromise(Effect.flatMap(TraceSink, (sink) => sink.flush))
    const wall = spread(wallRatios)
    const cpu = spread(cpuRatios)
    const describe = (s) => `median of ${runs} (min ${s.min}, max ${s.max})`
    return {
      results: {
        instrumentation_overhead_ratio: {
          value: wall.median,
          unit: "wall time on / off (one process)",
          target: "<= 1.03",
          pass: wall.median <= 1.03,
          spread: describe(wall)
        },
        instrumentation_overhead_cpu_ratio: {
          value: cpu.median,
          unit: "CPU time on / off (one process)",
          target: "<= 1.03",
          pass: cpu.median <= 1.03,
          spread: describe(cpu)
        }
      },
      details: {
        runs,
        rounds_per_run: rounds,
        turns_per_round: SCRIPT.length,
        wall_ratio: wall,
        cpu_ratio: cpu,
        median_turn_ms_on: spread(turnMsOn),
        median_turn_ms_off: spread(turnMsOff),
        trace_file_bytes: existsSync(join(dir, "traces-on.jsonl")) ? statSync(join(dir, "traces-on.jsonl")).size : 0
      }
    }
  } finally {
    await on.dispose()
    await off.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}
