// Server CPU per turn, against the bare floor. `node dist/main.js serve` (embedded simulator,
// offline reasoner, JSONL and audit on) and bench/floorServer.mjs run side by side as child
// processes; each measurement sends `turns` requests (a new session each) at one concurrency and
// reads the process's utime+stime from /proc/<pid>/stat before and after, so the embedded
// simulator's work is counted with the server's. Runs interleave product and floor (the order
// alternating) and repeat `runs` times: medians with min and max.
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import autocannon from "autocannon"
import { load, startServer } from "./api.mjs"
import { DIST } from "./dist.mjs"
import { startLlmStub } from "./llmStub.mjs"
import { DIRECT_MESSAGE, DOCUMENTATION_MESSAGE, MONITOR_MESSAGE, SCRIPT } from "./script.mjs"
import { median, round } from "./stats.mjs"

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU time (user + system, every thread) the process has used, in ms. */
export const processCpuMs = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK
}

const startFloor = async () => {
  const child = spawn(process.execPath, [fileURLToPath(new URL("floorServer.mjs", import.meta.url))], {
    env: { ...process.env, BENCH_DIST: DIST },
    stdio: ["ignore", "pipe", "inherit"]
  })
  const exited = new Promise((resolve) => child.once("exit", resolve))
  const url = await new Promise((resolve, reject) => {
    let out = ""
    child.stdout.on("data", (chunk) => {
      out += chunk
      const match = out.match(/^FLOOR (\S+)$/m)
      if (match !== null) resolve(match[1])
    })
    child.once("exit", (code) => reject(new Error(`floor server exited with ${code}`)))
  })
  return {
    url,
    pid: child.pid,
    stop: async () => {
      child.kill("SIGTERM")
      await exited
    }
  }
}

/** `turns` requests of one message (or the script) at one concurrency: CPU ms per turn, turns/s, mean latency. */
const measure = async (target, connections, message, turns) => {
  const before = processCpuMs(target.pid)
  const started = performance.now()
  const r = await load(target.url, {
    connections,
    amount: turns,
    messages: Array.isArray(message) ? message : [message]
  })
  const seconds = (performance.now() - started) / 1000
  const cpu = processCpuMs(target.pid) - before
  const ok = r.non2xx === 0 && r.errors === 0 && r.timeouts === 0
  return {
    cpuMsPerTurn: cpu / r.requests.total,
    turnsPerSecond: r.requests.total / seconds,
    latencyMs: r.latency.mean,
    ok,
    requests: r.requests.total
  }
}

/** `requests` GETs of the liveness probe at one concurrency: CPU ms per request (the HTTP stack alone). */
const measureProbe = async (target, connections, requests) => {
  const before = processCpuMs(target.pid)
  const r = await autocannon({ url: `${target.url}/healthz`, connections, amount: requests })
  return {
    cpuMsPerRequest: (processCpuMs(target.pid) - before) / r.requests.total,
    ok: r.non2xx === 0 && r.errors === 0
  }
}

const summary = (values, digits = 3) => ({
  median: round(median(values), digits),
  min: round(Math.min(...values), digits),
  max: round(Math.max(...values), digits)
})

export const runCpuBench = async ({
  runs = 5,
  turns = 1000,
  concurrencies = [1, 8, 32],
  warmup = 300,
  llm = true
} = {}) => {
  const dir = mkdtempSync(join(tmpdir(), "bench-cpu-"))
  const results = {}
  const details = { runs, turns_per_measurement: turns, clk_tck: CLK_TCK, measurements: {} }
  const product = await startServer(join(dir), { ASSISTANT_API_MAX_SESSIONS: "100000" })
  const floor = await startFloor()
  // Instrumentation overhead without two apps sharing one heap: the service with observability
  // on and with AGENT_OBSERVABILITY_ENABLED=false, each in its own process, both fed exactly the
  // same requests (so both are as warm and hold as many sessions).
  const instrumented = await startServer(join(dir), {
    ASSISTANT_API_MAX_SESSIONS: "100000",
    AGENT_TRACE_JSONL_PATH: join(dir, "traces-on.jsonl"),
    GUARDRAIL_AUDIT_PATH: join(dir, "guardrails-on.jsonl")
  })
  const uninstrumented = await startServer(join(dir), {
    ASSISTANT_API_MAX_SESSIONS: "100000",
    AGENT_OBSERVABILITY_ENABLED: "false",
    AGENT_TRACE_JSONL_PATH: join(dir, "traces-off.jsonl"),
    GUARDRAIL_AUDIT_PATH: join(dir, "guardrails-off.jsonl")
  })
  const stub = llm ? await startLlmStub() : undefined
  const withLlm =
    stub === undefined
      ? undefined
      : await startServer(join(dir), {
          ASSISTANT_API_MAX_SESSIONS: "100000",
          AGENT_TRACE_JSONL_PATH: join(dir, "traces-llm.jsonl"),
          GUARDRAIL_AUDIT_PATH: join(dir, "guardrails-llm.jsonl"),
          LLM_PROVIDER: "openai",
          OPENAI_BASE_URL: stub.baseUrl,
          OPENAI_API_KEY: "sk-bench",
          OPENAI_MODEL: "bench-model",
          OPENAI_RESPONSE_FORMAT: "none",
          LLM_MAX_RETRIES: "0"
        })
  const samples = {}
  const push = (key, value) => {
    samples[key] ??= []
    samples[key].push(value)
  }
  let allOk = true
  try {
    for (const target of [product, floor, ...(withLlm === undefined ? [] : [withLlm])]) {
      await load(target.url, { connections: 8, amount: warmup, messages: [MONITOR_MESSAGE] })
    }
    for (const target of [instrumented, uninstrumented]) {
      await load(target.url, { connections: 1, amount: warmup, messages: SCRIPT })
    }
    await load(product.url, { connections: 8, amount: warmup, messages: [DOCUMENTATION_MESSAGE] })
    await load(product.url, { connections: 8, amount: warmup, messages: [DIRECT_MESSAGE] })
    for (let run = 0; run < runs; run++) {
      for (const c of concurrencies) {
        const order = (run + c) % 2 === 0 ? [product, floor] : [floor, product]
        const got = new Map()
        for (const target of order) got.set(target, await measure(target, c, MONITOR_MESSAGE, turns))
        const p = got.get(product)
        const f = got.get(floor)
        allOk &&= p.ok && f.ok
        push(`product_c${c}_cpu`, p.cpuMsPerTurn)
        push(`floor_c${c}_cpu`, f.cpuMsPerTurn)
        push(`ratio_c${c}`, p.cpuMsPerTurn / f.cpuMsPerTurn)
        push(`product_c${c}_tps`, p.turnsPerSecond)
        push(`floor_c${c}_tps`, f.turnsPerSecond)
      }
      // Instrumentation on / off, separate processes, the scripted mix at c=1 (latency = wall time).
      const pair = new Map()
      for (const target of run % 2 === 0 ? [instrumented, uninstrumented] : [uninstrumented, instrumented]) {
        pair.set(target, await measure(target, 1, SCRIPT, Math.round(turns / 2)))
      }
      const on = pair.get(instrumented)
      const off = pair.get(uninstrumented)
      allOk &&= on.ok && off.ok
      push("overhead_process_cpu_ratio", on.cpuMsPerTurn / off.cpuMsPerTurn)
      push("overhead_process_wall_ratio", on.latencyMs / off.latencyMs)
      push("script_c1_cpu_on", on.cpuMsPerTurn)
      push("script_c1_cpu_off", off.cpuMsPerTurn)
      // What every turn costs at least (a greeting: supervisor and direct node), and the HTTP
      // stack alone (the liveness probe): the budget a monitor or documentation turn builds on.
      const direct = await measure(product, 8, DIRECT_MESSAGE, turns)
      const probe = await measureProbe(product, 8, turns)
      allOk &&= direct.ok && probe.ok
      push("direct_c8_cpu", direct.cpuMsPerTurn)
      push("probe_c8_cpu", probe.cpuMsPerRequest)
      const doc = await measure(product, 8, DOCUMENTATION_MESSAGE, turns)
      allOk &&= doc.ok
      push("documentation_c8_cpu", doc.cpuMsPerTurn)
      push("documentation_c8_tps", doc.turnsPerSecond)
      if (withLlm !== undefined) {
        const l = await measure(withLlm, 8, MONITOR_MESSAGE, turns)
        allOk &&= l.ok
        push("llm_stub_c8_cpu", l.cpuMsPerTurn)
        push("llm_stub_c8_tps", l.turnsPerSecond)
      }
    }
  } finally {
    await product.stop()
    await floor.stop()
    await instrumented.stop()
    await uninstrumented.stop()
    await withLlm?.stop()
    await stub?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  for (const [key, values] of Object.entries(samples)) details.measurements[key] = summary(values)
  const m = details.measurements
  const spread = (s) => `median of ${runs} (min ${s.min}, max ${s.max})`
  const result = (s, unit, target, pass) => ({ value: s.median, unit, target, pass: pass && allOk, spread: spread(s) })
  results.cpu_per_monitor_turn_ms = result(
    m.product_c8_cpu,
    "ms CPU/turn (c=8)",
    "<= 2.5",
    m.product_c8_cpu.median <= 2.5
  )
  results.cpu_per_documentation_turn_ms = result(
    m.documentation_c8_cpu,
    "ms CPU/turn (c=8)",
    "<= 3",
    m.documentation_c8_cpu.median <= 3
  )
  if (m.llm_stub_c8_cpu !== undefined) {
    results.cpu_per_monitor_turn_llm_stub_ms = result(
      m.llm_stub_c8_cpu,
      "ms CPU/turn (c=8)",
      "<= 4",
      m.llm_stub_c8_cpu.median <= 4
    )
  }
  results.instrumentation_overhead_process_cpu_ratio = result(
    m.overhead_process_cpu_ratio,
    "CPU/turn on / off (separate processes, script, c=1)",
    "<= 1.03",
    m.overhead_process_cpu_ratio.median <= 1.03
  )
  results.instrumentation_overhead_process_wall_ratio = result(
    m.overhead_process_wall_ratio,
    "mean latency on / off (separate processes, script, c=1)",
    "<= 1.03",
    m.overhead_process_wall_ratio.median <= 1.03
  )
  results.floor_cpu_per_turn_ms = result(m.floor_c8_cpu, "ms CPU/turn (c=8)", "(reference)", true)
  results.cpu_per_direct_turn_ms = result(m.direct_c8_cpu, "ms CPU/turn (c=8, a greeting)", "(reference)", true)
  results.cpu_per_probe_request_ms = result(m.probe_c8_cpu, "ms CPU/request (c=8, GET /healthz)", "(reference)", true)
  for (const c of concurrencies) {
    const s = m[`ratio_c${c}`]
    results[`floor_ratio_c${c}`] = result(s, "product CPU / floor CPU", "<= 3", s.median <= 3)
  }
  return { results, details: { ...details, all_2xx: allOk } }
}
