// The simulated SafeLine's state: detection mode map, IP groups, custom rules, sites, and the
// traffic record (events, detection records, 5-second buckets), generated lazily slice by slice
// with the protection state in effect when each slice is generated.
import { isIP } from "node:net"
import {
  DETECTION_MODULES,
  MODULE_VALUES,
  type ModuleValue,
  POLICY_ACTION,
  type PolicyCondition,
  RECORD_ACTION
} from "../safeline/SafeLineApi.js"
import { matchesPattern } from "./PolicyMatcher.js"
import { type AttackAttempt, generateSlice, SLICE_MS, type SliceTraffic } from "./TrafficGenerator.js"
import { CLIENT_POOL, LISTENERS, SITES } from "./TrafficProfile.js"

export interface SimIpGroup {
  id: number
  comment: string
  ips: Array<string>
  reference: string
  builtin: boolean
  updated_at: string
}

export interface SimPolicy {
  id: number
  name: string
  is_enabled: boolean
  action: number
  pattern: ReadonlyArray<ReadonlyArray<PolicyCondition>>
  log: boolean
  builtin: boolean
  pass_count: number
  req_count: number
  created_at: string
  updated_at: string
}

export interface SimEvent {
  id: number
  ip: string
  protocol: number
  host: string
  dst_port: number
  country: string
  province: string
  city: string
  start_at: number
  end_at: number
  updated_at: number
  deny_count: number
  pass_count: number
}

export interface SimRecord {
  id: number
  event_id: number
  src_ip: string
  host: string
  url_path: string
  query_string: string
  method: string
  module: string
  rule_id: string
  reason: string
  payload: string
  attack_type: number
  risk_level: number
  action: number
  status_code: number
  timestamp: number
  country: string
}

interface Bucket {
  readonly requests: Record<string, number>
  readonly clients: Array<number>
}

/** An event stays open while its IP keeps attacking the same host within this gap. */
const EVENT_IDLE_MS = 5 * 60_000
const MAX_RECORDS = 20_000
const MAX_EVENTS = 5_000
/** Buckets are kept for a day; after idling, at most 6 hours of traffic are caught up. */
const MAX_BUCKETS = (24 * 3_600_000) / SLICE_MS
const MAX_CATCH_UP = (6 * 3_600_000) / SLICE_MS
/** One activity window is 5 minutes of slices; ticks use windows of 12 ticks. */
const WINDOW_SLICES = 60
const TICK_WINDOW = 12

export class SimulatorValidationError extends Error {}

const iso = (ms: number) => new Date(ms).toISOString()

/** An IPv4/IPv6 address or CIDR range. */
export const isIpOrCidr = (value: unknown): value is string => {
  if (typeof value !== "string") return false
  const [address = "", prefix, ...rest] = value.trim().split("/")
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)
}

export class SimulatorState {
  modes: Record<string, ModuleValue> = Object.fromEntries(DETECTION_MODULES.map((m) => [m, "default" as ModuleValue]))
  readonly ipGroups: Array<SimIpGroup> = []
  readonly policies: Array<SimPolicy> = []
  readonly events: Array<SimEvent> = []
  readonly records: Array<SimRecord> = []
  private readonly buckets = new Map<number, Bucket>()
  private readonly openEvents = new Map<string, SimEvent>()
  private cursor: number
  private ticks = 0
  private nextGroupId = 1
  private nextPolicyId = 1
  private nextEventId = 1
  private nextRecordId = 1

  constructor(
    readonly seed: number,
    startMs: number,
    historySlices: number
  ) {
    this.cursor = Math.floor(startMs / SLICE_MS) - historySlices
    this.ipGroups.push({
      id: this.nextGroupId++,
      comment: "Search engine crawlers",
      ips: ["66.249.64.0/19", "157.55.39.0/24"],
      reference: "",
      builtin: true,
      updated_at: iso(startMs)
    })
    this.policies.push({
      id: this.nextPolicyId++,
      name: "Block legacy admin console",
      is_enabled: false,
      action: POLICY_ACTION.deny,
      pattern: [[{ k: "uri", op: "prefix", v: ["/legacy-admin"], sub_k: "" }]],
      log: true,
      builtin: false,
      pass_count: 0,
      req_count: 0,
      created_at: iso(startMs),
      updated_at: iso(startMs)
    })
    this.advance(startMs)
  }

  /** Generates every completed slice up to `nowMs` that is not generated yet. */
  advance(nowMs: number): void {
    const current = Math.floor(nowMs / SLICE_MS)
    this.cursor = Math.max(this.cursor, current - MAX_CATCH_UP)
    for (; this.cursor < current; this.cursor++) {
      const bucket = this.cursor
      this.apply(
        bucket,
        generateSlice(this.seed, String(bucket), String(Math.floor(bucket / WINDOW_SLICES)), bucket * SLICE_MS)
      )
    }
    this.prune(current)
  }

  /** `slices` slices' worth of traffic, now: stamped in the latest completed bucket. */
  tick(slices: number, nowMs: number): void {
    this.advance(nowMs)
    const bucket = Math.floor(nowMs / SLICE_MS) - 1
    for (let i = 0; i < slices; i++) {
      const n = this.ticks++
      this.apply(
        bucket,
        generateSlice(this.seed, `tick:${n}`, `tick:${Math.floor(n / TICK_WINDOW)}`, bucket * SLICE_MS)
      )
    }
  }

  private apply(bucket: number, traffic: SliceTraffic): void {
    const existing = this.buckets.get(bucket)
    if (existing === undefined) {
      this.buckets.set(bucket, { requests: { ...traffic.requests }, clients: [...traffic.clients] })
    } else {
      for (const [listener, n] of Object.entries(traffic.requests)) {
        existing.requests[listener] = (existing.requests[listener] ?? 0) + n
      }
      existing.clients.push(...traffic.clients)
    }
    for (const attack of traffic.attacks) this.record(attack, bucket * SLICE_MS + attack.offsetMs)
  }

  /** What SafeLine would do with this attack request in the current state. */
  private verdict(attack: AttackAttempt) {
    const groups = new Map(this.ipGroups.map((g) => [g.id, g.ips]))
    const facts = {
      srcIp: attack.ip,
      host: attack.site.host,
      uri: attack.template.path,
      method: attack.template.method
    }
    const policy = this.policies.find((p) => p.is_enabled && matchesPattern(p.pattern, facts, groups))
    if (policy !== undefined) {
      policy.req_count++
      if (policy.action === POLICY_ACTION.deny) {
        return {
          action: RECORD_ACTION.block,
          attackType: -3,
          module: "m_rule",
          ruleId: `policy_${policy.id}`,
          reason: `blacklist: custom rule "${policy.name}"`
        }
      }
      if (policy.action === POLICY_ACTION.allow) {
        policy.pass_count++
        return {
          action: RECORD_ACTION.pass,
          attackType: -2,
          module: "m_rule",
          ruleId: `policy_${policy.id}`,
          reason: `whitelist: custom rule "${policy.name}"`
        }
      }
    }
    const mode = this.modes[attack.template.module] ?? "default"
    const blocks = mode === "default" || mode === "strict"
    return {
      action: blocks ? RECORD_ACTION.block : RECORD_ACTION.pass,
      attackType: attack.template.attackType,
      module: attack.template.module,
      ruleId: attack.template.ruleId,
      reason: mode === "disable" ? `${attack.template.reason} (module disabled)` : attack.template.reason
    }
  }

  private record(attack: AttackAttempt, timestamp: number): void {
    const verdict = this.verdict(attack)
    const key = `${attack.ip}|${attack.site.host}`
    let event = this.openEvents.get(key)
    if (event === undefined || timestamp - event.end_at > EVENT_IDLE_MS) {
      event = {
        id: this.nextEventId++,
        ip: attack.ip,
        protocol: attack.site.https ? 1 : 0,
        host: attack.site.host,
        dst_port: attack.site.port,
        country: attack.country,
        province: attack.province,
        city: attack.city,
        start_at: timestamp,
        end_at: timestamp,
        updated_at: timestamp,
        deny_count: 0,
        pass_count: 0
      }
      this.openEvents.set(key, event)
      this.events.push(event)
    }
    event.end_at = Math.max(event.end_at, timestamp)
    event.updated_at = event.end_at
    if (verdict.action === RECORD_ACTION.block) event.deny_count++
    else event.pass_count++
    this.records.push({
      id: this.nextRecordId++,
      event_id: event.id,
      src_ip: attack.ip,
      host: attack.site.host,
      url_path: attack.template.path,
      query_string: attack.template.query,
      method: attack.template.method,
      module: verdict.module,
      rule_id: verdict.ruleId,
      reason: verdict.reason,
      payload: attack.template.payload,
      attack_type: verdict.attackType,
      risk_level: attack.template.riskLevel,
      action: verdict.action,
      status_code: verdict.action === RECORD_ACTION.block ? 403 : 200,
      timestamp,
      country: attack.country
    })
  }

  private prune(currentBucket: number): void {
    if (this.records.length > MAX_RECORDS * 1.1) this.records.splice(0, this.records.length - MAX_RECORDS)
    if (this.events.length > MAX_EVENTS * 1.1) {
      for (const event of this.events.splice(0, this.events.length - MAX_EVENTS)) {
        const key = `${event.ip}|${event.host}`
        if (this.openEvents.get(key) === event) this.openEvents.delete(key)
      }
    }
    if (this.buckets.size > MAX_BUCKETS * 1.1) {
      for (const bucket of this.buckets.keys()) if (bucket < currentBucket - MAX_BUCKETS) this.buckets.delete(bucket)
    }
  }

  // --- reads ---

  /** The last `count` completed buckets, oldest first, as SafeLine's QPS nodes. */
  qpsNodes(count: number, nowMs: number): Array<Record<string, number | string>> {
    const last = Math.floor(nowMs / SLICE_MS) - 1
    const nodes: Array<Record<string, number | string>> = []
    for (let b = last - count + 1; b <= last; b++) {
      const bucket = this.buckets.get(b)
      const node: Record<string, number | string> = { time: iso(b * SLICE_MS).slice(11, 19) }
      for (const listener of LISTENERS) node[listener] = bucket?.requests[listener] ?? 0
      nodes.push(node)
    }
    return nodes
  }

  attackStats(beginMs: number, endMs: number) {
    const inWindow = this.records.filter((r) => r.timestamp >= beginMs && r.timestamp <= endMs)
    return {
      attack_ip: new Set(inWindow.filter((r) => r.attack_type >= 0 || r.attack_type === -3).map((r) => r.src_ip)).size,
      intercept: {
        block: inWindow.filter((r) => r.action === RECORD_ACTION.block && r.attack_type >= 0).length,
        rate_limit: 0,
        challenge: 0,
        auth_defense: 0,
        offline: 0,
        blacklist: inWindow.filter((r) => r.action === RECORD_ACTION.block && r.attack_type === -3).length
      }
    }
  }

  accessStats(beginMs: number, endMs: number) {
    let access = 0
    const clients = new Set<number>()
    for (const [b, bucket] of this.buckets) {
      const start = b * SLICE_MS
      if (start < beginMs || start > endMs) continue
      for (const n of Object.values(bucket.requests)) access += n
      for (const c of bucket.clients) clients.add(c)
    }
    const attackers = new Set(
      this.records.filter((r) => r.timestamp >= beginMs && r.timestamp <= endMs).map((r) => r.src_ip)
    )
    const ip = Math.min(CLIENT_POOL, clients.size) + attackers.size
    return { access, ip, session: Math.round(ip * 1.35) }
  }

  eventView(event: SimEvent, nowMs: number) {
    return { ...event, finished: nowMs - event.end_at > EVENT_IDLE_MS }
  }

  sites() {
    return SITES.map((s) => ({
      id: s.id,
      comment: s.host.split(".")[0]!,
      server_names: [s.host],
      ports: [s.https ? `${s.port}_ssl` : String(s.port)],
      upstreams: [`http://10.0.0.${10 + s.id}:8080`],
      is_enabled: true,
      mode: 0
    }))
  }

  // --- writes (validated: a bad body is a SimulatorValidationError, answered with 400) ---

  setModes(semantics: unknown): void {
    if (typeof semantics !== "object" || semantics === null || Array.isArray(semantics)) {
      throw new SimulatorValidationError("semantics must be an object of module: mode")
    }
    const next = { ...this.modes }
    for (const [module, value] of Object.entries(semantics)) {
      if (!(DETECTION_MODULES as ReadonlyArray<string>).includes(module)) {
        throw new SimulatorValidationError(`unknown detection module ${module}`)
      }
      if (!(MODULE_VALUES as ReadonlyArray<unknown>).includes(value)) {
        throw new SimulatorValidationError(
          `invalid mode ${String(value)} for ${module}: use ${MODULE_VALUES.join(", ")}`
        )
      }
      next[module] = value as ModuleValue
    }
    this.modes = next
  }

  private checkIps(ips: unknown): Array<string> {
    if (!Array.isArray(ips) || !ips.every(isIpOrCidr)) {
      throw new SimulatorValidationError("ips must be an array of IP addresses or CIDR ranges")
    }
    return ips.map((ip: string) => ip.trim())
  }

  group(id: number): SimIpGroup | undefined {
    return this.ipGroups.find((g) => g.id === id)
  }

  createGroup(body: Record<string, unknown>, nowMs: number): number {
    if (typeof body.comment !== "string" || body.comment.trim() === "") {
      throw new SimulatorValidationError("comment (the group's name) is required")
    }
    const id = this.nextGroupId++
    this.ipGroups.push({
      id,
      comment: body.comment,
      ips: [...new Set(this.checkIps(body.ips ?? []))],
      reference: typeof body.reference === "string" ? body.reference : "",
      builtin: false,
      updated_at: iso(nowMs)
    })
    return id
  }

  /** Adds IPs to existing groups; false when a group does not exist. */
  appendToGroups(body: Record<string, unknown>, nowMs: number): boolean {
    const ids = body.ip_group_ids
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => Number.isInteger(id))) {
      throw new SimulatorValidationError("ip_group_ids must be a non-empty array of group ids")
    }
    const ips = this.checkIps(body.ips)
    const groups = ids.map((id) => this.group(id as number))
    if (groups.some((g) => g === undefined)) return false
    for (const g of groups as Array<SimIpGroup>) {
      for (const ip of ips) if (!g.ips.includes(ip)) g.ips.push(ip)
      g.updated_at = iso(nowMs)
    }
    return true
  }

  /** Replaces a group; "missing" when it does not exist, "builtin" when it is read-only. */
  updateGroup(body: Record<string, unknown>, nowMs: number): "ok" | "missing" | "builtin" {
    if (!Number.isInteger(body.id)) throw new SimulatorValidationError("id is required")
    const group = this.group(body.id as number)
    if (group === undefined) return "missing"
    if (group.builtin) return "builtin"
    if (typeof body.comment !== "string" || body.comment.trim() === "") {
      throw new SimulatorValidationError("comment (the group's name) is required")
    }
    group.ips = [...new Set(this.checkIps(body.ips))]
    group.comment = body.comment
    group.reference = typeof body.reference === "string" ? body.reference : ""
    group.updated_at = iso(nowMs)
    return "ok"
  }

  deleteGroups(body: Record<string, unknown>): void {
    const ids = body.ids
    if (!Array.isArray(ids)) throw new SimulatorValidationError("ids must be an array of group ids")
    for (const id of ids) {
      const index = this.ipGroups.findIndex((g) => g.id === id && !g.builtin)
      if (index >= 0) this.ipGroups.splice(index, 1)
    }
  }

  private checkPolicy(body: Record<string, unknown>) {
    if (typeof body.name !== "string" || body.name.trim() === "") throw new SimulatorValidationError("name is required")
    if (!Number.isInteger(body.action)) throw new SimulatorValidationError("action must be an integer")
    const pattern = body.pattern
    const conditionOk = (c: unknown) =>
      typeof c === "object" &&
      c !== null &&
      typeof (c as PolicyCondition).k === "string" &&
      typeof (c as PolicyCondition).op === "string" &&
      Array.isArray((c as PolicyCondition).v)
    if (!Array.isArray(pattern) || !pattern.every((all) => Array.isArray(all) && all.every(conditionOk))) {
      throw new SimulatorValidationError("pattern must be an array of arrays of {k, op, v, sub_k}")
    }
    return {
      name: body.name,
      action: body.action as number,
      is_enabled: body.is_enabled === true,
      log: body.log !== false,
      pattern: (pattern as Array<Array<PolicyCondition>>).map((all) =>
        all.map((c) => ({ k: c.k, op: c.op, v: c.v.map(String), sub_k: typeof c.sub_k === "string" ? c.sub_k : "" }))
      )
    }
  }

  createPolicy(body: Record<string, unknown>, nowMs: number): number {
    const id = this.nextPolicyId++
    this.policies.push({
      id,
      ...this.checkPolicy(body),
      builtin: false,
      pass_count: 0,
      req_count: 0,
      created_at: iso(nowMs),
      updated_at: iso(nowMs)
    })
    return id
  }

  updatePolicy(body: Record<string, unknown>, nowMs: number): boolean {
    const policy = this.policies.find((p) => p.id === body.id)
    if (policy === undefined) return false
    Object.assign(policy, this.checkPolicy(body), { updated_at: iso(nowMs) })
    return true
  }

  switchPolicy(body: Record<string, unknown>, nowMs: number): boolean {
    if (typeof body.is_enabled !== "boolean") throw new SimulatorValidationError("is_enabled must be a boolean")
    const policy = this.policies.find((p) => p.id === body.id)
    if (policy === undefined) return false
    policy.is_enabled = body.is_enabled
    policy.updated_at = iso(nowMs)
    return true
  }
}
