// The operations the agents need, with SafeLine's real semantics: mode changes over the whole
// module map (the previous map recorded deployment-wide in ChangeHistory to restore it), an
// idempotent IP blocklist enforced by one deny policy, and the read-side summaries (QPS, events,
// top sources, attack types).
import { isIP } from "node:net"
import { Context, Data, Effect, Layer, Option } from "effect"
import { ChangeHistory, type ModuleMap } from "../sessions/ChangeHistory.js"
import { attackTypeName } from "./AttackTypes.js"
import { COUNTER_BUCKET_MS, makeBucketedRead, QPS_BUCKET_MS } from "./BucketedRead.js"
import { onAnyFailure } from "./OnAnyFailure.js"
import {
  type AttackEvent,
  type DetectLog,
  type IpGroup,
  MAX_PAGE_SIZE,
  type ModuleValue,
  POLICY_ACTION,
  type Policy,
  RECORD_ACTION,
  SIMULATOR_VERSION_SUFFIX
} from "./SafeLineApi.js"
import { SafeLineClient } from "./SafeLineClient.js"
import { SafeLineError } from "./SafeLineError.js"

export type UserMode = "block" | "strict" | "detect" | "off"

export interface TrafficStats {
  /** Requests per second in the latest 5-second bucket, summed over listeners. */
  readonly qps: number
  readonly qpsSeries: ReadonlyArray<{ readonly time: string; readonly qps: number }>
  /** The window of the access and attack counters. */
  readonly windowSeconds: number
  readonly access: { readonly requests: number; readonly uniqueIps: number; readonly sessions: number }
  readonly attacks: {
    readonly attackIps: number
    readonly blocked: number
    readonly rateLimited: number
    readonly challenged: number
    readonly blacklisted: number
  }
}

export interface AttackEventView {
  readonly id: number
  readonly ip: string
  readonly host: string
  readonly country: string
  readonly startAt: number
  readonly endAt: number
  /** deny_count */
  readonly blocked: number
  /** pass_count */
  readonly passed: number
  /** Attack type names seen in this event's recent detection records. */
  readonly attackTypes: ReadonlyArray<string>
}

export interface DetectionRecordView {
  readonly srcIp: string
  readonly host: string
  readonly urlPath: string
  readonly method: string
  readonly module: string
  readonly ruleId: string
  readonly attackType: number
  readonly attackTypeName: string
  readonly action: "pass" | "block"
  readonly payload: string
  readonly timestamp: number
}

export interface AttackSummary {
  /** The time range asked of SafeLine (epoch ms, end inclusive); undefined: the newest events, any time. */
  readonly window: { readonly startMs: number; readonly endMs: number } | undefined
  /** Events matching the query in SafeLine (may exceed `events.length`). */
  readonly total: number
  /** False when SafeLine holds more matching events than were fetched (`events.length`). */
  readonly complete: boolean
  /** Distinct source IPs over the events returned. */
  readonly sourceIps: number
  /** Blocked requests (deny_count) over the events returned. */
  readonly blocked: number
  /** Passed requests (pass_count) over the events returned. */
  readonly passed: number
  /** Detection records matching the query in SafeLine; `records` holds the newest of them. */
  readonly recordsTotal: number
  /** The addresses in the agent's blocklist IP group when the summary was made. */
  readonly blocklist: ReadonlyArray<string>
  /** Newest first. */
  readonly events: ReadonlyArray<AttackEventView>
  readonly topSourceIps: ReadonlyArray<{
    readonly ip: string
    readonly count: number
    readonly country: string
    readonly blocked: number
    readonly passed: number
  }>
  /** From the recent detection records, most frequent first. */
  readonly attackTypes: ReadonlyArray<{ readonly attackType: number; readonly name: string; readonly count: number }>
  /** The most recent detection records (up to 100), newest first. */
  readonly records: ReadonlyArray<DetectionRecordView>
}

export interface AttackQuery {
  /** Without a window: how many of the newest events (1-100). */
  readonly limit?: number | undefined
  readonly ip?: string | undefined
  readonly sinceMs?: number | undefined
  /**
   * A time range (epoch ms): every event in it is fetched, page by page (100 a page, as SafeLine
   * allows), up to `maxEvents`; `complete` says whether that was all of them.
   */
  readonly window?: { readonly startMs: number; readonly endMs: number } | undefined
  readonly maxEvents?: number | undefined
}

export interface SystemInfo {
  readonly version: string
  readonly licenseValid: boolean
  readonly machineId: string
  /** True when this is the bundled simulator (its version ends with "-simulator"). */
  readonly simulated: boolean
}

export interface ProtectionModeInfo {
  readonly mode: UserMode | "mixed"
  readonly modules: Readonly<Record<string, string>>
}

export interface ModeChange {
  readonly previous: ProtectionModeInfo
  readonly current: ProtectionModeInfo
}

/** Whether "restore the previous mode" would run now, and if not why. */
export type RestorePlan =
  | { readonly restorable: true; readonly current: ProtectionModeInfo; readonly restoresTo: ProtectionModeInfo }
  | { readonly restorable: false; readonly reason: "nothing_to_restore" | "mode_changed"; readonly message: string }

export interface BlacklistChange {
  readonly operation: "add" | "remove"
  readonly target: string
  /** The agent's IP group; 0 when it does not exist (removing from an empty blocklist). */
  readonly groupId: number
  /** The enabled deny policy enforcing the group; 0 when there is none. */
  readonly policyId: number
  /** False when the target was already present (add) or absent (remove). */
  readonly changed: boolean
}

/** A request the operation refuses or cannot serve, apart from SafeLine failing. */
export class SafeLineOperationError extends Data.TaggedError("SafeLineOperationError")<{
  readonly reason: "nothing_to_restore" | "mode_changed" | "history_unavailable" | "invalid_target" | "truncated_group"
  readonly message: string
}> {}

/** The comment (name) of the one IP group the agent owns. */
export const BLOCKLIST_COMMENT = "security-agent blocklist"
export const BLOCKLIST_POLICY_NAME = "security-agent blocklist (deny)"

export const MODE_VALUES: Readonly<Record<UserMode, ModuleValue>> = {
  block: "default",
  strict: "strict",
  detect: "dry_run",
  off: "disable"
}

/** The user-facing mode of a module map: one value everywhere, or "mixed". */
export const summarizeMode = (modules: Readonly<Record<string, string>>): ProtectionModeInfo => {
  const values = new Set(Object.values(modules))
  const only = values.size === 1 ? [...values][0] : undefined
  const mode = (Object.keys(MODE_VALUES) as Array<UserMode>).find((m) => MODE_VALUES[m] === only) ?? "mixed"
  return { mode, modules: { ...modules } }
}

const QPS_SAMPLES = 35
const STATS_WINDOW_SECONDS = 24 * 3600
const RECORDS_PER_SUMMARY = MAX_PAGE_SIZE
/** The most events a windowed summary pages through (10 pages of 100). */
const MAX_WINDOW_EVENTS = 1000
/** The most detection records a windowed summary pages through. */
const MAX_WINDOW_RECORDS = 500
const TOP_SOURCES = 10
/** Large enough that the listing carries every IP of the group, whatever `top` limits. */
const GROUP_LIST_TOP = 10_000
const MAX_POLICY_PAGES = 50

/** One spelling per address: lowercase, without a full-length prefix. */
export const canonicalTarget = (target: string): string => {
  const text = target.trim().toLowerCase()
  const [address = "", prefix] = text.split("/")
  const family = isIP(address)
  if (prefix !== undefined && ((family === 4 && prefix === "32") || (family === 6 && prefix === "128"))) return address
  return text
}

const isTarget = (text: string) => {
  const [address = "", prefix, ...rest] = text.split("/")
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128))
}

/** A deny policy whose one-condition clause blocks every source in the group. */
const enforces = (policy: Policy, groupId: number) =>
  policy.action === POLICY_ACTION.deny &&
  policy.pattern.some(
    (clause) =>
      clause.length === 1 &&
      clause[0]!.k === "src_ip" &&
      clause[0]!.op === "in" &&
      clause[0]!.v.includes(String(groupId))
  )

const toEventView = (event: AttackEvent, typesByEvent: ReadonlyMap<string, Set<string>>): AttackEventView => ({
  id: event.id,
  ip: event.ip,
  host: event.host,
  country: event.country,
  startAt: event.start_at,
  endAt: event.end_at,
  blocked: event.deny_count,
  passed: event.pass_count,
  attackTypes: [...(typesByEvent.get(String(event.id)) ?? [])]
})

const toRecordView = (record: DetectLog): DetectionRecordView => ({
  srcIp: record.src_ip,
  host: record.host,
  urlPath: record.url_path,
  method: record.method,
  module: record.module,
  ruleId: record.rule_id,
  attackType: record.attack_type,
  attackTypeName: attackTypeName(record.attack_type),
  action: record.action === RECORD_ACTION.block ? "block" : "pass",
  payload: record.payload,
  timestamp: record.timestamp
})

/**
 * The summary of fetched events and records: pure, so a property test can check every figure a
 * report prints against a count of its own.
 */
export const summarizeAttacks = (input: {
  readonly window: AttackSummary["window"]
  readonly events: ReadonlyArray<AttackEvent>
  readonly eventsTotal: number
  readonly records: ReadonlyArray<DetectLog>
  readonly recordsTotal: number
  readonly blocklist: ReadonlyArray<string>
}): AttackSummary => {
  const typesByEvent = new Map<string, Set<string>>()
  const typeCounts = new Map<number, number>()
  for (const record of input.records) {
    const key = String(record.event_id)
    typesByEvent.set(key, (typesByEvent.get(key) ?? new Set()).add(attackTypeName(record.attack_type)))
    typeCounts.set(record.attack_type, (typeCounts.get(record.attack_type) ?? 0) + 1)
  }
  const nodes = [...input.events].sort((a, b) => b.start_at - a.start_at || b.id - a.id)
  const sources = new Map<string, { ip: string; count: number; country: string; blocked: number; passed: number }>()
  for (const e of nodes) {
    const s = sources.get(e.ip) ?? { ip: e.ip, count: 0, country: e.country, blocked: 0, passed: 0 }
    s.count++
    s.blocked += e.deny_count
    s.passed += e.pass_count
    sources.set(e.ip, s)
  }
  return {
    window: input.window,
    total: Math.max(input.eventsTotal, nodes.length),
    complete: nodes.length >= input.eventsTotal,
    sourceIps: sources.size,
    recordsTotal: Math.max(input.recordsTotal, input.records.length),
    blocklist: input.blocklist.map(canonicalTarget),
    blocked: nodes.reduce((n, e) => n + e.deny_count, 0),
    passed: nodes.reduce((n, e) => n + e.pass_count, 0),
    events: nodes.map((e) => toEventView(e, typesByEvent)),
    topSourceIps: [...sources.values()]
      .sort((a, b) => b.count - a.count || b.blocked + b.passed - (a.blocked + a.passed) || a.ip.localeCompare(b.ip))
      .slice(0, TOP_SOURCES),
    attackTypes: [...typeCounts.entries()]
      .map(([attackType, count]) => ({ attackType, name: attackTypeName(attackType), count }))
      .sort((a, b) => b.count - a.count || a.attackType - b.attackType),
    records: input.records.map(toRecordView)
  }
}

const make = Effect.gen(function* () {
  // Any failed call forgets the shared statistics, so an outage shows on the next turn.
  const client = onAnyFailure(yield* SafeLineClient, () => forgetStatistics())
  /** The last mode change, deployment-wide: what a restore puts back, on any replica. */
  const history = yield* ChangeHistory
  /** Mode and blocklist changes are read-modify-write: one at a time (in this process; the mode record is CAS'ed). */
  const writes = yield* Effect.makeSemaphore(1)

  const systemInfo: Effect.Effect<SystemInfo, SafeLineError> = Effect.map(client.system, (s) => ({
    version: s.version,
    licenseValid: s.license.valid,
    machineId: s.machine_id,
    simulated: s.version.endsWith(SIMULATOR_VERSION_SUFFIX)
  }))

  /** SafeLine's counters over [begin, end] (epoch seconds). */
  const countersOver = (begin: number, end: number) =>
    Effect.map(
      Effect.all([client.attackStats(begin, end), client.accessStats(begin, end)], { concurrency: 2 }),
      ([attack, access]) => ({ begin, end, attack, access })
    )
  // Time-bucketed statistics are shared by the turns of one bucket (never the protection mode
  // or the blocklist, which another replica may have just changed). The series is derived once
  // per read, not once per turn.
  const latestQps = makeBucketedRead(QPS_BUCKET_MS, () =>
    Effect.map(client.qps(QPS_SAMPLES), (qps) =>
      qps.nodes.map((node) => {
        let requests = 0
        for (const [key, value] of Object.entries(node)) {
          if (key === "time") continue
          const n = typeof value === "number" ? value : Number(value)
          if (Number.isFinite(n)) requests += n
        }
        return { time: String(node.time ?? ""), qps: Math.round((requests / 5) * 100) / 100 }
      })
    )
  )
  const lastDayCounters = makeBucketedRead(COUNTER_BUCKET_MS, (nowMs) => {
    const end = Math.floor(nowMs / 1000)
    return countersOver(end - STATS_WINDOW_SECONDS, end)
  })
  function forgetStatistics() {
    latestQps.forget()
    lastDayCounters.forget()
  }

  /** Traffic now and SafeLine's counters over a range (epoch ms; default the last 24 h). */
  const trafficStatsOver = (range?: {
    readonly startMs: number
    readonly endMs: number
  }): Effect.Effect<TrafficStats, SafeLineError> =>
    Effect.gen(function* () {
      // The shared reads almost always answer from their bucket, so in sequence (no fiber per
      // turn); a named range is read from SafeLine alongside the QPS.
      const [qpsSeries, { begin, end, attack, access }] = yield* Effect.all(
        [
          latestQps.get,
          range === undefined
            ? lastDayCounters.get
            : countersOver(Math.floor(range.startMs / 1000), Math.floor(range.endMs / 1000))
        ],
        { concurrency: range === undefined ? 1 : 2 }
      )
      return {
        qps: qpsSeries.at(-1)?.qps ?? 0,
        qpsSeries,
        windowSeconds: end - begin,
        access: { requests: access.access, uniqueIps: access.ip, sessions: access.session },
        attacks: {
          attackIps: attack.attack_ip,
          blocked: attack.intercept.block,
          rateLimited: attack.intercept.rate_limit,
          challenged: attack.intercept.challenge,
          blacklisted: attack.intercept.blacklist
        }
      }
    })

  /** Every page of a list until `max` items or the end, as SafeLine pages (page 1.., ≤ 100 a page). */
  const allPages = <A>(
    fetch: (
      page: number,
      pageSize: number
    ) => Effect.Effect<{ readonly items: ReadonlyArray<A>; readonly total: number }, SafeLineError>,
    max: number
  ) =>
    Effect.gen(function* () {
      const items: Array<A> = []
      let total = 0
      for (let page = 1; items.length < max; page++) {
        const batch = yield* fetch(page, Math.min(MAX_PAGE_SIZE, max - items.length))
        items.push(...batch.items)
        total = Math.max(batch.total, items.length)
        if (batch.items.length === 0 || items.length >= batch.total) break
      }
      return { items, total }
    })

  const attackSummary = (query: AttackQuery = {}): Effect.Effect<AttackSummary, SafeLineError> =>
    Effect.gen(function* () {
      const window = query.window
      const filter =
        window === undefined
          ? { ip: query.ip, start: query.sinceMs ?? 0, end: 0 }
          : { ip: query.ip, start: Math.max(1, window.startMs), end: Math.max(1, window.endMs) }
      const eventLimit =
        window === undefined
          ? Math.min(Math.max(Math.floor(query.limit ?? 20), 1), MAX_PAGE_SIZE)
          : Math.max(1, Math.floor(query.maxEvents ?? MAX_WINDOW_EVENTS))
      const [eventPages, recordPages, group] = yield* Effect.all(
        [
          allPages(
            (page, pageSize) =>
              Effect.map(client.listEvents({ ...filter, page, pageSize }), (p) => ({ items: p.nodes, total: p.total })),
            eventLimit
          ),
          allPages(
            (page, pageSize) =>
              Effect.map(client.listRecords({ ...filter, page, pageSize }), (p) => ({ items: p.data, total: p.total })),
            window === undefined ? RECORDS_PER_SUMMARY : MAX_WINDOW_RECORDS
          ),
          findBlocklist
        ],
        { concurrency: 3 }
      )
      const events = { nodes: eventPages.items, total: eventPages.total }
      const records = { data: recordPages.items, total: recordPages.total }
      return summarizeAttacks({
        window,
        events: events.nodes,
        eventsTotal: events.total,
        records: records.data,
        recordsTotal: records.total,
        blocklist: group?.ips ?? []
      })
    })

  const protectionMode: Effect.Effect<ProtectionModeInfo, SafeLineError> = Effect.map(client.getMode, summarizeMode)

  const sameMap = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) =>
    Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v)

  const historyUnavailable = (error: { readonly message: string }) =>
    new SafeLineOperationError({
      reason: "history_unavailable",
      message: `The record of the last protection-mode change cannot be read (${error.message}), so nothing was restored. Name the mode you want instead (block, strict, detect or off).`
    })

  /**
   * A mode change recorded after the fact. A failed record is logged, not raised: the change is
   * applied, and a later restore, finding SafeLine's map unlike the recorded one, refuses.
   */
  const remember = (before: ModuleMap, after: ModuleMap) =>
    sameMap(before, after)
      ? Effect.void
      : history.recordModeChange(before, after).pipe(
          Effect.asVoid,
          Effect.catchAll((error) =>
            Effect.logWarning(`protection mode changed but not recorded for a restore: ${error.message}`)
          )
        )

  /** PUTs `next` and reads the map back. */
  const putModes = (before: ModuleMap, next: ModuleMap) =>
    Effect.gen(function* () {
      yield* client.putMode(next)
      const after = yield* client.getMode
      return { previous: summarizeMode(before), current: summarizeMode(after) }
    })

  const setProtectionMode = (mode: UserMode): Effect.Effect<ModeChange, SafeLineError> =>
    writes.withPermits(1)(
      Effect.gen(function* () {
        const before = yield* client.getMode
        if (Object.keys(before).length === 0) {
          return yield* new SafeLineError({
            reason: "invalid_response",
            method: "GET",
            path: "/api/open/global/mode",
            message: "SafeLine reported no detection modules, so there is nothing to switch: check its version (9.x)."
          })
        }
        // Whether PUT merges or replaces is undocumented: send every module back.
        const next = Object.fromEntries(Object.keys(before).map((module) => [module, MODE_VALUES[mode]]))
        const change = yield* putModes(before, next)
        yield* remember(before, change.current.modules)
        return change
      })
    )

  const changedSince = (recorded: ModuleMap, current: ModuleMap) => {
    const left = summarizeMode(recorded).mode
    const now = summarizeMode(current).mode
    return new SafeLineOperationError({
      reason: "mode_changed",
      message: `The protection mode has changed since the agent's last change (that change left ${left}; SafeLine now has ${now}${left === now ? " with different modules" : ""}), perhaps by another operator or in the SafeLine console. Reverting now would silently undo that later change, so nothing was changed: name the mode you want instead (block, strict, detect or off).`
    })
  }

  const nothingToRestore = new SafeLineOperationError({
    reason: "nothing_to_restore",
    message:
      "There is no previous protection mode to restore: no mode change by the agent is on record. Name a mode instead (block, strict, detect or off)."
  })

  /** The recorded change a restore would undo, checked against SafeLine's map now. */
  const restorable = Effect.gen(function* () {
    const record = yield* Effect.mapError(history.lastModeChange, historyUnavailable)
    if (Option.isNone(record)) return yield* nothingToRestore
    const current = yield* client.getMode
    if (!sameMap(current, record.value.current)) return yield* changedSince(record.value.current, current)
    return { record: record.value, current }
  })

  /** Read-only: whether a restore would run now (asked before a confirmation code is issued). */
  const restorePlan: Effect.Effect<RestorePlan, SafeLineError> = restorable.pipe(
    Effect.map(
      ({ record, current }): RestorePlan => ({
        restorable: true,
        current: summarizeMode(current),
        restoresTo: summarizeMode({ ...current, ...record.previous })
      })
    ),
    // An unreadable record leaves nothing to restore either; its message says why.
    Effect.catchTag("SafeLineOperationError", (error) =>
      Effect.succeed<RestorePlan>({
        restorable: false,
        reason: error.reason === "mode_changed" ? "mode_changed" : "nothing_to_restore",
        message: error.message
      })
    )
  )

  /**
   * Puts back the map before the last recorded change, only if SafeLine still has the map that
   * change left, and claims the record first (compare-and-swap on its version), so two replicas
   * never both restore, and a later change by someone else is never silently reverted.
   */
  const restoreProtectionMode: Effect.Effect<ModeChange, SafeLineError | SafeLineOperationError> = writes.withPermits(
    1
  )(
    Effect.gen(function* () {
      const { record, current } = yield* restorable
      const target = { ...current, ...record.previous }
      const claimed = yield* Effect.mapError(
        history.replaceModeChange(record.version, current, target),
        historyUnavailable
      )
      if (Option.isNone(claimed)) return yield* changedSince(record.current, current)
      const change = yield* putModes(current, target).pipe(
        // SafeLine refused: give the record back, so it still describes what SafeLine has.
        Effect.tapError(() =>
          history.replaceModeChange(claimed.value.version, record.previous, record.current).pipe(Effect.ignore)
        )
      )
      if (!sameMap(change.current.modules, target)) {
        yield* history
          .replaceModeChange(claimed.value.version, current, change.current.modules)
          .pipe(Effect.catchAll((error) => Effect.logWarning(`restored mode not recorded: ${error.message}`)))
      }
      return change
    })
  )

  /**
   * A scheduled revert: puts `restoreTo` back only if SafeLine still has `expected` (the map the
   * timed change left); fails with "mode_changed" otherwise, changing nothing.
   */
  const revertProtectionMode = (
    expected: ModuleMap,
    restoreTo: ModuleMap
  ): Effect.Effect<ModeChange, SafeLineError | SafeLineOperationError> =>
    writes.withPermits(1)(
      Effect.gen(function* () {
        const current = yield* client.getMode
        if (!sameMap(current, expected)) return yield* changedSince(expected, current)
        const change = yield* putModes(current, { ...current, ...restoreTo })
        yield* remember(current, change.current.modules)
        return change
      })
    )

  const findBlocklist: Effect.Effect<IpGroup | undefined, SafeLineError> = Effect.map(
    client.listIpGroups(GROUP_LIST_TOP),
    (page) => page.nodes.filter((g) => !g.builtin && g.comment === BLOCKLIST_COMMENT).sort((a, b) => a.id - b.id)[0]
  )

  const allPolicies: Effect.Effect<ReadonlyArray<Policy>, SafeLineError> = Effect.gen(function* () {
    const all: Array<Policy> = []
    for (let page = 1; page <= MAX_POLICY_PAGES; page++) {
      const batch = yield* client.listPolicies({ page, pageSize: MAX_PAGE_SIZE })
      all.push(...batch.data)
      if (batch.data.length < MAX_PAGE_SIZE || all.length >= batch.total) break
    }
    return all
  })

  /** The enabled deny policy for the group: found, re-enabled, or created. Idempotent. */
  const ensurePolicy = (groupId: number) =>
    Effect.gen(function* () {
      const enforcing = (yield* allPolicies).filter((p) => enforces(p, groupId)).sort((a, b) => a.id - b.id)
      const enabled = enforcing.find((p) => p.is_enabled)
      if (enabled !== undefined) return { policyId: enabled.id, changed: false }
      const disabled = enforcing[0]
      if (disabled !== undefined) {
        yield* client.switchPolicy(disabled.id, true)
        return { policyId: disabled.id, changed: true }
      }
      const policyId = yield* client.createPolicy({
        name: BLOCKLIST_POLICY_NAME,
        is_enabled: true,
        action: POLICY_ACTION.deny,
        pattern: [[{ k: "src_ip", op: "in", v: [String(groupId)], sub_k: "" }]],
        log: true
      })
      return { policyId, changed: true }
    })

  const checkTarget = (target: string) =>
    isTarget(target.trim())
      ? Effect.succeed(canonicalTarget(target))
      : Effect.fail(
          new SafeLineOperationError({
            reason: "invalid_target",
            message: `"${target.slice(0, 64)}" is not an IP address or CIDR range.`
          })
        )

  const contains = (group: IpGroup, target: string) => group.ips.some((ip) => canonicalTarget(ip) === target)

  const blacklistAdd = (rawTarget: string): Effect.Effect<BlacklistChange, SafeLineError | SafeLineOperationError> =>
    writes.withPermits(1)(
      Effect.gen(function* () {
        const target = yield* checkTarget(rawTarget)
        const existing = yield* findBlocklist
        const groupId = existing?.id ?? (yield* client.createIpGroup({ comment: BLOCKLIST_COMMENT, ips: [target] }))
        const policy = yield* ensurePolicy(groupId)
        let added = existing === undefined
        if (existing !== undefined && !contains(existing, target)) {
          yield* client.appendToIpGroups([groupId], [target])
          added = true
        }
        return {
          operation: "add",
          target,
          groupId,
          policyId: policy.policyId,
          changed: added || policy.changed
        } as const
      })
    )

  const blacklistRemove = (rawTarget: string): Effect.Effect<BlacklistChange, SafeLineError | SafeLineOperationError> =>
    writes.withPermits(1)(
      Effect.gen(function* () {
        const target = yield* checkTarget(rawTarget)
        const group = yield* findBlocklist
        if (group === undefined)
          return { operation: "remove", target, groupId: 0, policyId: 0, changed: false } as const
        const policyId =
          (yield* allPolicies).filter((p) => p.is_enabled && enforces(p, group.id)).sort((a, b) => a.id - b.id)[0]
            ?.id ?? 0
        if (!contains(group, target)) {
          return { operation: "remove", target, groupId: group.id, policyId, changed: false } as const
        }
        if (group.total !== undefined && group.total > group.ips.length) {
          return yield* new SafeLineOperationError({
            reason: "truncated_group",
            message: `SafeLine listed ${group.ips.length} of the ${group.total} addresses of IP group #${group.id}, so rewriting it could drop entries: remove ${target} in the SafeLine console instead.`
          })
        }
        // Inferred: there is no "remove one IP" endpoint, so PUT the whole group without it.
        yield* client.updateIpGroup({
          id: group.id,
          comment: group.comment,
          ips: group.ips.filter((ip) => canonicalTarget(ip) !== target),
          reference: group.reference
        })
        return { operation: "remove", target, groupId: group.id, policyId, changed: true } as const
      })
    )

  return {
    systemInfo,
    trafficStats: trafficStatsOver(),
    trafficStatsOver,
    attackSummary,
    protectionMode,
    setProtectionMode,
    restorePlan,
    restoreProtectionMode,
    revertProtectionMode,
    blacklistAdd,
    blacklistRemove
  } as const
})

export class SafeLineOps extends Context.Tag("security-agent/SafeLineOps")<
  SafeLineOps,
  Effect.Effect.Success<typeof make>
>() {
  /** Over the deployment's ChangeHistory (the app's). */
  static readonly layerWithHistory = Layer.effect(SafeLineOps, make)
  /** Over a history of its own, in this process only (tests, standalone tools). */
  static readonly layer = SafeLineOps.layerWithHistory.pipe(Layer.provide(ChangeHistory.memory))
}
