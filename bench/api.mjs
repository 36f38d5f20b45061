// API throughput and latency: `node dist/main.js serve` as a child process (embedded simulator,
// offline reasoner) driven by autocannon at concurrency 1, 8 and 32 with a new session id per
// request; then the server's RSS after 10k sessions, on a fresh server allowed to keep them all.
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import autocannon from "autocannon"
import { DIST, REPO } from "./dist.mjs"
import { SCRIPT } from "./script.mjs"
import { round } from "./stats.mjs"

export const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

/** Settings that would point the server elsewhere (a real SafeLine, an LLM, Redis, OTLP, auth). */
const INHERITED_OUT = [
  "SAFELINE_URL",
  "SAFELINE_API_TOKEN",
  "LLM_PROVIDER",
  "SESSION_STORE",
  "REDIS_URL",
  "ASSISTANT_API_TOKEN",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "AGENT_OBSERVABILITY_ENABLED"
]

/** Starts `serve` on a free port from an empty working directory (so no `.env` is read). */
export const startServer = async (dir, extraEnv = {}, nodeArgs = []) => {
  const port = await freePort()
  const env = { ...process.env }
  for (const name of INHERITED_OUT) delete env[name]
  Object.assign(env, {
    ASSISTANT_API_HOST: "127.0.0.1",
    ASSISTANT_API_PORT: String(port),
    LOG_LEVEL: "warning",
    AGENT_TRACE_JSONL_PATH: join(dir, "traces.jsonl"),
    GUARDRAIL_AUDIT_PATH: join(dir, "guardrails.jsonl"),
    ...extraEnv
  })
  const child = spawn(process.execPath, [...nodeArgs, join(DIST, "main.js"), "serve"], { cwd: dir, env, stdio: "pipe" })
  let output = ""
  child.stdout.on("data", (chunk) => {
    output += chunk
  })
  child.stderr.on("data", (chunk) => {
    output += chunk
  })
  const exited = new Promise((resolve) => child.once("exit", resolve))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}:\n${output}`)
    const healthy = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false
    )
    if (healthy) break
    if (Date.now() > deadline) {
      child.kill("SIGKILL")
      throw new Error(`serve did not answer /healthz within 60 s:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    url,
    pid: child.pid,
    /** The live heap after a full GC, from the memory probe (when it was preloaded). */
    liveHeapBytes: async () => {
      const seen = output.length
      child.kill("SIGUSR2")
      for (let i = 0; i < 50; i++) {
        const match = output.slice(seen).match(/^MEMORY (\{.*\})$/m)
        if (match !== null) return JSON.parse(match[1]).heapUsed
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      return Number.NaN
    },
    rssBytes: () => Number(readFileSync(`/proc/${child.pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m)[1]) * 1024,
    stop: async () => {
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
}

/** autocannon with a fresh session id (and the next scripted message, or `options.messages`) in every request. */
export const load = (url, options) => {
  const messages = options.messages ?? SCRIPT
  let n = 0
  const prefix = `bench-${options.connections}-${Date.now().toString(36)}`
  return autocannon({
    url,
    connections: options.connections,
    ...(options.amount === undefined ? { duration: options.duration } : { amount: options.amount }),
    timeout: 30,
    requests: [
      {
        method: "POST",
        path: "/v1/chat",
        headers: { "content-type": "application/json" },
        setupRequest: (request) => {
          const i = n++
          return {
            ...request,
            body: JSON.stringify({ message: messages[i % messages.length], session_id: `${prefix}-${i}` })
          }
        }
      }
    ]
  })
}

export const runApiBench = async ({ duration = 10, sessions = 10_000 } = {}) => {
  const dir = mkdtempSync(join(tmpdir(), "bench-api-"))
  const results = {}
  const details = { duration_seconds: duration, runs: {} }
  try {
    const server = await startServer(dir)
    try {
      await load(server.url, { connections: 8, duration: 3 })
      for (const connections of [1, 8, 32]) {
        const r = await load(server.url, { connections, duration })
        const ok = r.non2xx === 0 && r.errors === 0 && r.timeouts === 0
        const allOk = `all 2xx (${r.requests.total} requests)`
        results[`api_c${connections}_turns_per_second`] = {
          value: round(r.requests.average, 1),
          unit: "turns/s",
          target: allOk,
          pass: ok
        }
        results[`api_c${connections}_latency_p50_ms`] = { value: r.latency.p50, unit: "ms", target: allOk, pass: ok }
        results[`api_c${connections}_latency_p99_ms`] = { value: r.latency.p99, unit: "ms", target: allOk, pass: ok }
        details.runs[`c${connections}`] = {
          requests: r.requests.total,
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
          latency_ms: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max }
        }
      }
    } finally {
      await server.stop()
    }

    // Fresh servers that may keep every session: resident memory after `sessions` of them, with
    // V8's default heap sizing (it grows the heap lazily on a large host) and with the heap
    // capped as a 512 MiB container should run it; the probe then reports the live heap.
    details.memory = {}
    for (const [name, heapCap] of [
      ["api_rss_after_10k_sessions_mib", ""],
      ["api_rss_after_10k_sessions_heap_capped_mib", " --max-old-space-size=256"]
    ]) {
      const roomy = await startServer(dir, {
        ASSISTANT_API_MAX_SESSIONS: String(sessions * 2),
        NODE_OPTIONS: `--expose-gc --require ${join(REPO, "bench", "memoryProbe.cjs")}${heapCap}`
      })
      try {
        await load(roomy.url, { connections: 4, amount: 200 })
        const before = roomy.rssBytes()
        const r = await load(roomy.url, { connections: 8, amount: sessions })
        await new Promise((resolve) => setTimeout(resolve, 2000))
        const mib = roomy.rssBytes() / 2 ** 20
        const live = (await roomy.liveHeapBytes()) / 2 ** 20
        results[name] = {
          value: round(mib, 1),
          unit: "MiB",
          target: "< 512 (the chart's memory limit)",
          pass: mib < 512 && r.non2xx === 0 && r.errors === 0
        }
        details.memory[name] = {
          node_options: heapCap.trim() || "(none)",
          sessions: sessions + 200,
          rss_before_mib: round(before / 2 ** 20, 1),
          rss_after_mib: round(mib, 1),
          live_heap_after_gc_mib: round(live, 1),
          non2xx: r.non2xx,
          errors: r.errors
        }
      } finally {
        await roomy.stop()
      }
    }
    return { results, details }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
