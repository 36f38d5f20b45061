// The bare floor of a monitor turn: a raw `node:http` server with the embedded SafeLine simulator
// (the product's own, from dist/), making the same four SafeLine reads a monitor turn makes through
// the same cache policy (QPS per 5-second bucket and the 24 h counters per minute shared by
// concurrent turns, forgotten when any read fails; the protection mode read every time, beside the
// statistics, as the monitor does) and answering a JSON reply. No graph, no
// Effect, no instrumentation: what a turn cannot cost less than in Node. Run as a child process;
// prints `FLOOR <url>` once it listens.
import { randomBytes } from "node:crypto"
import { Agent, createServer, request } from "node:http"
import { fromDist } from "./dist.mjs"

const { SimulatorState } = await fromDist("simulator/SimulatorState.js")
const { makeRequestHandler } = await fromDist("simulator/SimulatorHttp.js")
const { SLICE_MS } = await fromDist("simulator/TrafficGenerator.js")
const { SIMULATOR_VERSION } = await fromDist("simulator/Simulator.js")

const listen = (server) => new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)))

// The simulator exactly as `serve` embeds it (seed 1, 30 minutes of history).
const token = randomBytes(16).toString("hex")
const state = new SimulatorState(1, Date.now(), Math.round((30 * 60_000) / SLICE_MS))
const simulator = makeRequestHandler({
  state,
  token,
  now: Date.now,
  controls: { delayMs: 0, failure: "none", requests: [] },
  version: SIMULATOR_VERSION,
  machineId: "simulator-00000001"
})
const simPort = await listen(createServer((req, res) => void simulator(req, res)))

const agent = new Agent({ keepAlive: true })
const TIMEOUT_MS = Number(process.env.SAFELINE_TIMEOUT ?? 10) * 1000

/** One GET of the management API: the envelope checked, the data returned. */
const get = (path) =>
  new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: simPort,
        path,
        agent,
        headers: { "X-SLCE-API-TOKEN": token, accept: "application/json" }
      },
      (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (chunk) => {
          body += chunk
        })
        res.on("end", () => {
          try {
            const envelope = JSON.parse(body)
            if (res.statusCode !== 200 || (envelope.err ?? "") !== "") reject(new Error(`${path}: ${envelope.err}`))
            else resolve(envelope.data)
          } catch (error) {
            reject(error)
          }
        })
      }
    )
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`${path}: timeout`)))
    req.on("error", reject)
    req.end()
  })

/** One shared read per bucket: concurrent turns in the same bucket wait for the same promise. */
const held = []
const forgetAll = () => {
  for (const slot of held) slot.pending = undefined
}
const bucketed = (bucketMs, read) => {
  const slot = { bucket: -1, pending: undefined }
  held.push(slot)
  return (now) => {
    const b = Math.floor(now / bucketMs)
    if (b !== slot.bucket || slot.pending === undefined) {
      slot.bucket = b
      slot.pending = read(now).catch((error) => {
        forgetAll()
        throw error
      })
    }
    return slot.pending
  }
}
const qps = bucketed(5_000, () => get("/api/stat/qps?count=35"))
const counters = bucketed(60_000, (now) => {
  const end = Math.floor(now / 1000)
  const range = `begin_time=${end - 86_400}&end_time=${end}`
  return Promise.all([get(`/api/stat/advance/attack?${range}`), get(`/api/stat/advance/access?${range}`)])
})

const reply = (res, status, body) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

let turns = 0
const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/healthz") return reply(res, 200, { status: "ok" })
  if (req.method !== "POST" || req.url !== "/v1/chat") return reply(res, 404, { error: "not_found" })
  let body = ""
  req.setEncoding("utf8")
  req.on("data", (chunk) => {
    body += chunk
  })
  req.on("end", async () => {
    let input
    try {
      input = JSON.parse(body)
    } catch {
      return reply(res, 400, { error: "invalid_json" })
    }
    if (typeof input?.message !== "string") return reply(res, 400, { error: "invalid_body" })
    const now = Date.now()
    try {
      // The mode beside the statistics; its failure too forgets them, so the next turn sees an outage.
      const mode = get("/api/open/global/mode").catch((error) => {
        forgetAll()
        throw error
      })
      const [series, [attack, access], modeData] = await Promise.all([qps(now), counters(now), mode])
      const last = series.nodes.at(-1) ?? {}
      let requests = 0
      for (const [key, value] of Object.entries(last)) if (key !== "time") requests += Number(value) || 0
      const modes = new Set(Object.values(modeData.semantics ?? {}))
      reply(res, 200, {
        session_id: typeof input.session_id === "string" ? input.session_id : "",
        turn_id: String(++turns),
        route: "monitor",
        reply: `Current traffic: ${requests / 5} requests/s. Access in the last 24 h: ${access.access} requests from ${access.ip} IPs. Attacks: ${attack.attack_ip} attacking IPs, ${attack.intercept?.block ?? 0} blocked. Protection mode: ${modes.size === 1 ? [...modes][0] : "mixed"}.`,
        sources: []
      })
    } catch (error) {
      reply(res, 502, { error: "safeline", detail: String(error) })
    }
  })
})
const port = await listen(server)
console.log(`FLOOR http://127.0.0.1:${port}`)
process.on("SIGTERM", () => {
  server.close()
  process.exit(0)
})
