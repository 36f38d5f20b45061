// The simulator's HTTP surface: SafeLine's management API paths, envelope, status codes and token
// check over the simulator state, plus the test switches (delay, failure mode, request log).
import { timingSafeEqual } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import { MAX_PAGE_SIZE } from "../safeline/SafeLineApi.js"
import { type SimulatorState, SimulatorValidationError } from "./SimulatorState.js"

export type FailureMode = "none" | "http500" | "envelope_error"

export interface SimulatorControls {
  delayMs: number
  failure: FailureMode
  readonly requests: Array<{ readonly method: string; readonly path: string }>
}

export interface SimulatorHttpOptions {
  readonly state: SimulatorState
  readonly token: string
  readonly now: () => number
  readonly controls: SimulatorControls
  readonly version: string
  readonly machineId: string
}

interface Reply {
  readonly status: number
  readonly body: unknown
}

const MAX_BODY_BYTES = 1024 * 1024
/** The request log keeps the latest entries only. */
const MAX_LOGGED_REQUESTS = 10_000

const ok = (data: unknown): Reply => ({ status: 200, body: { data, err: null, msg: "" } })
const fail = (status: number, err: string, msg: string): Reply => ({ status, body: { data: null, err, msg } })
const badRequest = (msg: string) => fail(400, "invalid-params", msg)
const notFound = (msg: string) => fail(404, "data-not-exist", msg)

const sameToken = (given: string | undefined, expected: string) => {
  if (given === undefined) return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

const readBody = (req: IncomingMessage): Promise<string | "too_large"> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY_BYTES) chunks.push(chunk)
    })
    req.on("end", () => resolve(size > MAX_BODY_BYTES ? "too_large" : Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

class Params {
  constructor(private readonly search: URLSearchParams) {}
  text(name: string): string | undefined {
    const value = this.search.get(name)
    return value === null || value === "" ? undefined : value
  }
  int(name: string, fallback: number): number {
    const value = this.text(name)
    if (value === undefined) return fallback
    const n = Number(value)
    if (!Number.isInteger(n)) throw new SimulatorValidationError(`${name} must be an integer`)
    return n
  }
  page() {
    const page = this.int("page", 1)
    const pageSize = this.int("page_size", 20)
    if (page < 1) throw new SimulatorValidationError("page starts at 1")
    if (pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new SimulatorValidationError(`page_size must be from 1 to ${MAX_PAGE_SIZE}`)
    }
    return { offset: (page - 1) * pageSize, pageSize }
  }
}

const paged = <A>(items: ReadonlyArray<A>, params: Params) => {
  const { offset, pageSize } = params.page()
  return { items: items.slice(offset, offset + pageSize), total: items.length }
}

/** Whether `[from, to]` (epoch ms, 0 = unbounded) contains `t`. */
const within = (t: number, from: number, to: number) => (from === 0 || t >= from) && (to === 0 || t <= to)

const route = (
  options: SimulatorHttpOptions,
  method: string,
  path: string,
  params: Params,
  body: Record<string, unknown>
): Reply => {
  const { state } = options
  const now = options.now()
  switch (`${method} ${path}`) {
    case "GET /api/open/system":
      return ok({
        version: options.version,
        outdated: false,
        deprecated: false,
        license: { valid: true },
        machine_id: options.machineId,
        time: new Date(now).toISOString(),
        simulator: true
      })
    case "GET /api/open/events": {
      const ip = params.text("ip")
      const host = params.text("host")
      const port = params.text("port")
      const start = params.int("start", 0)
      const end = params.int("end", 0)
      const matching = state.events
        .filter(
          (e) =>
            (ip === undefined || e.ip === ip) &&
            (host === undefined || e.host === host) &&
            (port === undefined || String(e.dst_port) === port) &&
            (start === 0 || e.end_at >= start) &&
            (end === 0 || e.start_at <= end)
        )
        .sort((a, b) => b.start_at - a.start_at || b.id - a.id)
      const { items, total } = paged(matching, params)
      return ok({ nodes: items.map((e) => state.eventView(e, now)), total })
    }
    case "GET /api/open/records": {
      const ip = params.text("ip")
      const host = params.text("host")
      const url = params.text("url")
      const attackType = params.text("attack_type")
      const action = params.text("action")
      const eventId = params.text("event_id")
      const start = params.int("start", 0)
      const end = params.int("end", 0)
      const matching = state.records
        .filter(
          (r) =>
            (ip === undefined || r.src_ip === ip) &&
            (host === undefined || r.host === host) &&
            (url === undefined || r.url_path.includes(url)) &&
            (attackType === undefined || String(r.attack_type) === attackType) &&
            (action === undefined || String(r.action) === action) &&
            (eventId === undefined || String(r.event_id) === eventId) &&
            within(r.timestamp, start, end)
        )
        .sort((a, b) => b.timestamp - a.timestamp || b.id - a.id)
      const { items, total } = paged(matching, params)
      return ok({ data: items, total })
    }
    case "GET /api/open/records/acl": {
      params.page()
      return ok({ data: [], total: 0 })
    }
    case "GET /api/stat/qps": {
      const count = Math.min(Math.max(params.int("count", 35), 1), 720)
      return ok({ nodes: state.qpsNodes(count, now) })
    }
    case "GET /api/stat/advance/attack":
    case "GET /api/stat/advance/access": {
      const end = params.int("end_time", Math.floor(now / 1000))
      const begin = params.int("begin_time", end - 86_400)
      return ok(
        path.endsWith("attack")
          ? state.attackStats(begin * 1000, end * 1000 + 999)
          : state.accessStats(begin * 1000, end * 1000 + 999)
      )
    }
    case "GET /api/open/global/mode":
      return ok({ semantics: { ...state.modes } })
    case "PUT /api/open/global/mode":
      state.setModes(body.semantics)
      return ok(null)
    case "GET /api/open/ipgroup": {
      const top = params.int("top", 0)
      const nodes = state.ipGroups.map((g) => ({
        ...g,
        ips: top > 0 ? g.ips.slice(0, top) : [...g.ips],
        total: g.ips.length
      }))
      return ok({ nodes, total: nodes.length })
    }
    case "GET /api/open/ipgroup/detail": {
      const group = state.group(params.int("id", 0))
      return group === undefined
        ? notFound("IP group not found")
        : ok({ data: { ...group, ips: [...group.ips], total: group.ips.length } })
    }
    case "POST /api/open/ipgroup":
      return ok(state.createGroup(body, now))
    case "PUT /api/open/ipgroup": {
      const result = state.updateGroup(body, now)
      if (result === "missing") return notFound("IP group not found")
      if (result === "builtin") return fail(400, "read-only", "built-in IP groups cannot be changed")
      return ok(null)
    }
    case "DELETE /api/open/ipgroup":
      state.deleteGroups(body)
      return ok(null)
    case "POST /api/open/ipgroup/append":
      return state.appendToGroups(body, now) ? ok(null) : notFound("IP group not found")
    case "GET /api/open/policy": {
      const action = params.int("action", -1)
      const matching = state.policies.filter((p) => action === -1 || p.action === action)
      const { items, total } = paged(matching, params)
      return ok({ data: items, total })
    }
    case "POST /api/open/policy":
      return ok(state.createPolicy(body, now))
    case "PUT /api/open/policy":
      return state.updatePolicy(body, now) ? ok(null) : notFound("policy not found")
    case "PUT /api/open/policy/switch":
      return state.switchPolicy(body, now) ? ok(null) : notFound("policy not found")
    case "GET /api/open/site": {
      const { items, total } = paged(state.sites(), params)
      return ok({ data: items, total })
    }
    default:
      return fail(404, "not-found", `${method} ${path} is not part of the simulated API`)
  }
}

const send = (res: ServerResponse, reply: Reply) => {
  if (res.destroyed) return
  const text = JSON.stringify(reply.body)
  res.writeHead(reply.status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text)
  })
  res.end(text)
}

export const makeRequestHandler =
  (options: SimulatorHttpOptions) =>
  async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? "GET"
    const url = new URL(req.url ?? "/", "http://simulator")
    const path = url.pathname.replace(/\/+$/, "") || "/"
    const { controls } = options
    controls.requests.push({ method, path })
    if (controls.requests.length > MAX_LOGGED_REQUESTS) controls.requests.splice(0, MAX_LOGGED_REQUESTS / 2)
    try {
      if (method === "GET" && path === "/api/open/health") return send(res, { status: 200, body: { status: "ok" } })
      const raw = method === "GET" ? "" : await readBody(req)
      if (controls.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, controls.delayMs))
      const token = req.headers["x-slce-api-token"]
      if (!sameToken(Array.isArray(token) ? token[0] : token, options.token)) {
        return send(res, fail(401, "login-required", "Login required"))
      }
      if (controls.failure === "http500") return send(res, fail(500, "internal-error", "simulated failure"))
      if (controls.failure === "envelope_error") {
        return send(res, fail(200, "internal-error", "simulated failure (an error envelope on HTTP 200)"))
      }
      if (raw === "too_large") return send(res, fail(413, "request-too-large", "body over 1 MiB"))
      let body: Record<string, unknown> = {}
      if (raw.trim() !== "") {
        try {
          const parsed: unknown = JSON.parse(raw)
          if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
            return send(res, badRequest("the body must be a JSON object"))
          }
          body = parsed as Record<string, unknown>
        } catch {
          return send(res, badRequest("the body is not valid JSON"))
        }
      }
      options.state.advance(options.now())
      send(res, route(options, method, path, new Params(url.searchParams), body))
    } catch (error) {
      if (error instanceof SimulatorValidationError) return send(res, badRequest(error.message))
      send(res, fail(500, "internal-error", error instanceof Error ? error.message : String(error)))
    }
  }
