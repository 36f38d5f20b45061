// The operations' SafeLine semantics against the simulator: whole-map mode changes with restore,
// the idempotent blocklist with its one deny policy, and what later traffic looks like.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { attackTypeName } from "../../src/safeline/AttackTypes.js"
import { DETECTION_MODULES, type DetectLog } from "../../src/safeline/SafeLineApi.js"
import { SafeLineClient, type SafeLineClientService } from "../../src/safeline/SafeLineClient.js"
import { BLOCKLIST_COMMENT, SafeLineOps } from "../../src/safeline/SafeLineOps.js"
import { simulatorAndClient } from "./SafeLineFixture.js"

/** The simulator, its client and the operations over that client. */
const setup = Effect.gen(function* () {
  const { simulator, client } = yield* simulatorAndClient()
  const ops = yield* Effect.provide(
    SafeLineOps,
    SafeLineOps.layer.pipe(Layer.provide(Layer.succeed(SafeLineClient, client)))
  )
  return { simulator, client, ops }
})

/** Detection records newer than `afterId` (every page), from `ip` when given. */
const recordsAfter = (client: SafeLineClientService, afterId: number, ip?: string) =>
  Effect.gen(function* () {
    const all: Array<DetectLog> = []
    for (let page = 1; ; page++) {
      const batch = yield* client.listRecords({ ip, page, pageSize: 100 })
      all.push(...batch.data)
      if (batch.data.length < 100) return all.filter((r) => Number(r.id) > afterId)
    }
  })

describe("protection mode", () => {
  it.scopedLive("maps each user mode onto every module and reads the result back", () =>
    Effect.gen(function* () {
      const { simulator, ops } = yield* setup
      const expected = { block: "default", strict: "strict", detect: "dry_run", off: "disable" } as const
      for (const [mode, value] of Object.entries(expected)) {
        const change = yield* ops.setProtectionMode(mode as keyof typeof expected)
        expect(change.current.mode).toBe(mode)
        const modes = (yield* simulator.snapshot).modes
        expect(Object.keys(modes).sort()).toEqual([...DETECTION_MODULES].sort())
        expect(new Set(Object.values(modes))).toEqual(new Set([value]))
      }
    })
  )

  it.scopedLive("restores the exact previous map, even a mixed one, and keeps it across a no-op change", () =>
    Effect.gen(function* () {
      const { client, ops } = yield* setup
      expect(Exit.isFailure(yield* Effect.exit(ops.restoreProtectionMode))).toBe(true)
      yield* client.putMode({ m_sqli: "dry_run", m_scanner: "disable" })
      const mixed = yield* client.getMode
      expect((yield* ops.protectionMode).mode).toBe("mixed")

      const first = yield* ops.setProtectionMode("strict")
      expect(first.previous).toEqual({ mode: "mixed", modules: mixed })
      yield* ops.setProtectionMode("strict")
      const restored = yield* ops.restoreProtectionMode
      expect(restored.previous.mode).toBe("strict")
      expect(restored.current).toEqual({ mode: "mixed", modules: mixed })
      expect(yield* client.getMode).toEqual(mixed)
    })
  )

  it.scopedLive("tells why there is nothing to restore", () =>
    Effect.gen(function* () {
      const { ops } = yield* setup
      const exit = yield* Effect.exit(ops.restoreProtectionMode)
      expect(exit).toMatchObject({ _tag: "Failure", cause: { error: { reason: "nothing_to_restore" } } })
    })
  )
})

describe("IP blacklist", () => {
  it.scopedLive("blacklisting twice makes one group and one enabled deny policy", () =>
    Effect.gen(function* () {
      const { simulator, ops } = yield* setup
      const policiesBefore = (yield* simulator.snapshot).policies.length
      const first = yield* ops.blacklistAdd("203.0.113.45")
      const second = yield* ops.blacklistAdd("203.0.113.45/32")
      expect(first.changed).toBe(true)
      expect(second).toEqual({ ...first, changed: false })
      const third = yield* ops.blacklistAdd("198.51.100.0/24")
      expect(third).toMatchObject({ changed: true, groupId: first.groupId, policyId: first.policyId })

      const snapshot = yield* simulator.snapshot
      const ours = snapshot.ipGroups.filter((g) => g.comment === BLOCKLIST_COMMENT)
      expect(ours).toHaveLength(1)
      expect(ours[0]!.ips).toEqual(["203.0.113.45", "198.51.100.0/24"])
      expect(snapshot.policies).toHaveLength(policiesBefore + 1)
      const deny = snapshot.policies.find((p) => p.id === first.policyId)!
      expect(deny).toMatchObject({ is_enabled: true, action: 1 })
      expect(deny.pattern).toEqual([[{ k: "src_ip", op: "in", v: [String(first.groupId)], sub_k: "" }]])
    })
  )

  it.scopedLive("re-enables an existing disabled deny policy instead of creating another", () =>
    Effect.gen(function* () {
      const { simulator, client, ops } = yield* setup
      const groupId = yield* client.createIpGroup({ comment: BLOCKLIST_COMMENT, ips: ["203.0.113.9"] })
      const policyId = yield* client.createPolicy({
        name: "old blocklist rule",
        is_enabled: false,
        action: 1,
        pattern: [[{ k: "src_ip", op: "in", v: [String(groupId)], sub_k: "" }]]
      })
      const policiesBefore = (yield* simulator.snapshot).policies.length
      const change = yield* ops.blacklistAdd("203.0.113.9")
      expect(change).toMatchObject({ groupId, policyId, changed: true })
      const snapshot = yield* simulator.snapshot
      expect(snapshot.policies).toHaveLength(policiesBefore)
      expect(snapshot.policies.find((p) => p.id === policyId)!.is_enabled).toBe(true)
      expect(snapshot.ipGroups.filter((g) => g.comment === BLOCKLIST_COMMENT)).toHaveLength(1)
    })
  )

  it.scopedLive("unblocks by rewriting the group without the address, and says when nothing changed", () =>
    Effect.gen(function* () {
      const { simulator, ops } = yield* setup
      expect(yield* ops.blacklistRemove("203.0.113.45")).toMatchObject({ changed: false, groupId: 0, policyId: 0 })
      const added = yield* ops.blacklistAdd("203.0.113.45")
      yield* ops.blacklistAdd("203.0.113.77")
      const removed = yield* ops.blacklistRemove("203.0.113.45")
      expect(removed).toEqual({ ...added, operation: "remove", changed: true })
      expect(yield* ops.blacklistRemove("203.0.113.45")).toMatchObject({ changed: false })
      const group = (yield* simulator.snapshot).ipGroups.find((g) => g.id === added.groupId)!
      expect(group.ips).toEqual(["203.0.113.77"])
      expect(yield* simulator.requestCount("PUT", "/api/open/ipgroup")).toBe(1)
    })
  )

  it.scopedLive("refuses what is not an address", () =>
    Effect.gen(function* () {
      const { ops } = yield* setup
      const exit = yield* Effect.exit(ops.blacklistAdd("evil.example.com"))
      expect(exit).toMatchObject({ _tag: "Failure", cause: { error: { reason: "invalid_target" } } })
    })
  )
})

describe("what later traffic shows", () => {
  it.scopedLive("block mode blocks later attacks; a blacklisted IP is blocked as -3; unblocked, it passes again", () =>
    Effect.gen(function* () {
      const { simulator, client, ops } = yield* setup
      const attacker = "203.0.113.45"

      yield* ops.setProtectionMode("detect")
      let mark = (yield* simulator.snapshot).lastRecordId
      yield* simulator.tick(60)
      const detected = (yield* recordsAfter(client, mark)).filter((r) => r.attack_type >= 0)
      expect(detected.length).toBeGreaterThan(0)
      expect(detected.every((r) => r.action === 0)).toBe(true)

      yield* ops.setProtectionMode("block")
      mark = (yield* simulator.snapshot).lastRecordId
      yield* simulator.tick(60)
      const blocked = (yield* recordsAfter(client, mark)).filter((r) => r.attack_type >= 0)
      expect(blocked.length).toBeGreaterThan(0)
      expect(blocked.every((r) => r.action === 1)).toBe(true)

      yield* ops.setProtectionMode("detect")
      yield* ops.blacklistAdd(attacker)
      yield* ops.blacklistAdd(attacker)
      mark = (yield* simulator.snapshot).lastRecordId
      yield* simulator.tick(120)
      const banned = yield* recordsAfter(client, mark, attacker)
      expect(banned.length).toBeGreaterThan(0)
      expect(banned.every((r) => r.attack_type === -3 && r.action === 1)).toBe(true)
      const others = (yield* recordsAfter(client, mark)).filter((r) => r.src_ip !== attacker)
      expect(others.some((r) => r.action === 0)).toBe(true)

      yield* ops.blacklistRemove(attacker)
      mark = (yield* simulator.snapshot).lastRecordId
      yield* simulator.tick(120)
      const allowed = yield* recordsAfter(client, mark, attacker)
      expect(allowed.length).toBeGreaterThan(0)
      expect(allowed.every((r) => r.attack_type >= 0 && r.action === 0)).toBe(true)
    })
  )
})

describe("read-side summaries", () => {
  it.scopedLive("summarizes events: totals, top source IPs, attack types, newest first", () =>
    Effect.gen(function* () {
      const { client, ops } = yield* setup
      const summary = yield* ops.attackSummary({ limit: 100 })
      expect(summary.events.length).toBeGreaterThan(3)
      expect(summary.total).toBeGreaterThanOrEqual(summary.events.length)
      expect(summary.blocked).toBe(summary.events.reduce((n, e) => n + e.blocked, 0))
      expect(summary.passed).toBe(0)
      const starts = summary.events.map((e) => e.startAt)
      expect(starts).toEqual([...starts].sort((a, b) => b - a))
      expect(summary.topSourceIps[0]!.count).toBeGreaterThanOrEqual(summary.topSourceIps.at(-1)!.count)
      expect(summary.attackTypes.reduce((n, t) => n + t.count, 0)).toBe(summary.records.length)
      // Which attack classes appear depends on the start time; every one must carry its name.
      expect(summary.attackTypes.length).toBeGreaterThan(0)
      for (const t of summary.attackTypes) expect(t.name).toBe(attackTypeName(t.attackType))
      expect(summary.events.some((e) => e.attackTypes.length > 0)).toBe(true)

      const ip = summary.topSourceIps[0]!.ip
      const one = yield* ops.attackSummary({ ip, limit: 10 })
      expect(one.events.every((e) => e.ip === ip)).toBe(true)
      expect(one.records.every((r) => r.srcIp === ip)).toBe(true)
      const future = yield* ops.attackSummary({ sinceMs: Date.now() + 3_600_000 })
      expect(future).toMatchObject({ total: 0, events: [], records: [] })
      expect(yield* client.listEvents({ start: Date.now() + 3_600_000 })).toMatchObject({ total: 0 })
    })
  )

  it.scopedLive("current QPS is the last 5-second bucket over 5, summed over listeners", () =>
    Effect.gen(function* () {
      const { client, ops } = yield* setup
      const stats = yield* ops.trafficStats
      const raw = yield* client.qps(35)
      const last = raw.nodes.at(-1)!
      const requests = Object.entries(last)
        .filter(([key]) => key !== "time")
        .reduce((n, [, v]) => n + Number(v), 0)
      expect(requests).toBeGreaterThan(0)
      expect(stats.qps).toBeCloseTo(requests / 5, 2)
      expect(stats.qpsSeries).toHaveLength(35)
      expect(stats.qpsSeries.at(-1)).toEqual({ time: last.time, qps: stats.qps })
      expect(stats.windowSeconds).toBe(86_400)
      expect(stats.access.requests).toBeGreaterThan(0)
      expect(stats.attacks.blocked).toBeGreaterThan(0)
      expect(stats.attacks.attackIps).toBeGreaterThan(0)
    })
  )

  it.scopedLive("recognises the simulator from its version", () =>
    Effect.gen(function* () {
      const { ops } = yield* setup
      expect(yield* ops.systemInfo).toMatchObject({ simulated: true, licenseValid: true })
    })
  )
})
