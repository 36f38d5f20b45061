// Instrumentation overhead: the same scripted turns (offline reasoner, embedded simulator) on two
// apps in this process, one with observability fully on (agent metrics + JSONL trace events +
// audit log) and one with AGENT_OBSERVABILITY_ENABLED=false, interleaved round by round.
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import { Turn } from "../dist/agent/Turn.js"
import { AppLive } from "../dist/app/AppLayer.js"
import { AuditLog } from "../dist/observability/AuditLog.js"
import { TraceSink } from "../dist/observability/TraceSink.js"
import { collectGarbage, median, round } from "./stats.mjs"

/** One conversation touching every kind of specialist, a guardrail challenge and its cancel. */
export const SCRIPT = [
  "what is my traffic?",
  "show me recent attacks",
  "what is SQL injection?",
  "how do I configure rate limiting in SafeLine?",
  "which IPs should I worry about?",
  "hi",
  "switch to detect mode",
  "cancel",
  "generate an incident report",
  "what is the protection mode?"
]

const appRuntime = (env) =>
  ManagedRuntime.make(
    AppLive.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))))
  )

/** The script in one session, then until every trace event and audit record is written. */
const runScript = (runtime, sessionId) =>
  runtime.runPromise(
    Effect.gen(function* () {
      const turn = yield* Turn
      for (const message of SCRIPT) yield* turn.run({ message, sessionId })
      yield* (yield* TraceSink).flush
      yield* (yield* AuditLog).flush
    })
  )

export const runOverheadBench = async ({ rounds = 60, warmup = 8 } = {}) => {
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
    const on_ = { wall: [], cpu: [] }
    const off_ = { wall: [], cpu: [] }
    const paired = []
    // Each sample is the whole script plus waiting until its trace and audit records are on
    // disk, so the writer's background work is counted where it belongs. Rounds alternate which
    // side goes first; no forced GC while measuring (collecting the instrumentation's garbage is
    // part of its cost). Medians keep bursts of load from elsewhere on the machine out.
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [on, off] : [off, on]
      const samples = new Map()
      for (const runtime of order) samples.set(runtime, await measure(runtime, `round-${r}`))
      for (const [runtime, into] of [
        [on, on_],
        [off, off_]
      ]) {
        into.wall.push(samples.get(runtime).wall)
        into.cpu.push(samples.get(runtime).cpu)
      }
      paired.push(samples.get(on).wall / samples.get(off).wall)
    }
    await on.runPromise(Effect.flatMap(TraceSink, (sink) => sink.flush))
    const turns = SCRIPT.length
    const ratio = median(on_.wall) / median(off_.wall)
    const cpuRatio = median(on_.cpu) / median(off_.cpu)
    return {
      results: {
        instrumentation_overhead_ratio: {
          value: round(ratio, 3),
          unit: "ratio (on / off, median)",
          target: "<= 1.03",
          pass: ratio <= 1.03
        }
      },
      details: {
        rounds,
        turns_per_round: turns,
        median_turn_ms_on: round(median(on_.wall) / turns, 3),
        median_turn_ms_off: round(median(off_.wall) / turns, 3),
        median_paired_ratio: round(median(paired), 3),
        cpu_time_ratio: round(cpuRatio, 3),
        trace_file_bytes: existsSync(join(dir, "traces-on.jsonl")) ? statSync(join(dir, "traces-on.jsonl")).size : 0
      }
    }
  } finally {
    await on.dispose()
    await off.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}
