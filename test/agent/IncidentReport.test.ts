// The report property test: for generated event sets, mode changes and bans, every figure the
// incident report prints equals a reference count made here straight from the generated events
// (not from the summary the report reads), and nothing already done is recommended again.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { buildIncidentReport } from "../../src/agent/IncidentReport.js"
import type { AttackEvent } from "../../src/safeline/SafeLineApi.js"
import { summarizeAttacks } from "../../src/safeline/SafeLineOps.js"
import type { AppliedChange, TrafficStats } from "../../src/tools/SafeLineTools.js"

const T0 = Date.parse("2026-11-30T10:00:00Z")
const HOUR = 3_600_000
const SESSION = "s-report"
const IPS = ["203.0.113.1", "203.0.113.2", "198.51.100.3", "198.51.100.4", "192.0.2.5", "192.0.2.6", "2001:db8::7"]

const eventArb = fc.record({
  ip: fc.constantFrom(...IPS),
  offset: fc.integer({ min: 0, max: HOUR - 1 }),
  deny: fc.nat({ max: 400 }),
  pass: fc.oneof(fc.constant(0), fc.nat({ max: 50 }))
})

const changeArb = fc.record({
  offset: fc.integer({ min: 0, max: HOUR - 1 }),
  kind: fc.constantFrom("set_mode", "blacklist_add"),
  mode: fc.constantFrom("block", "detect", "strict", "off"),
  ip: fc.constantFrom(...IPS),
  session: fc.constantFrom(SESSION, "someone-else")
})

/** One finished SafeLine event from `ip`, starting `offset` ms after T0. */
const attackEvent = (id: number, ip: string, offset: number, deny: number, pass: number): AttackEvent => ({
  id,
  ip,
  protocol: 1,
  host: "shop.example.com",
  dst_port: 443,
  country: "NL",
  province: "",
  city: "",
  start_at: T0 + offset,
  end_at: T0 + offset + 1000,
  updated_at: T0 + offset + 1000,
  deny_count: deny,
  pass_count: pass,
  finished: true
})

const number = (text: string) => Number(text.replace(/,/g, ""))

const stats = (attackIps: number): TrafficStats => ({
  qps: 3,
  qpsSeries: [],
  windowSeconds: 3600,
  access: { requests: 0, uniqueIps: 0, sessions: 0 },
  attacks: { attackIps, blocked: 0, rateLimited: 0, challenged: 0, blacklisted: 0 }
})

/** The mode changes as a chain: each one starts from the previous one's mode. */
const journalOf = (
  changes: ReadonlyArray<{ offset: number; kind: string; mode: string; ip: string; session: string }>,
  initialMode: string
): Array<AppliedChange> => {
  let mode = initialMode
  return [...changes]
    .sort((a, b) => a.offset - b.offset)
    .map((c) => {
      if (c.kind === "set_mode") {
        const before = mode
        mode = c.mode
        return {
          at: T0 + c.offset,
          principal: "alice",
          sessionId: c.session,
          action: "set_mode",
          modeBefore: before,
          modeAfter: c.mode,
          changed: before !== c.mode
        } as const
      }
      return {
        at: T0 + c.offset,
        principal: "bob",
        sessionId: c.session,
        action: "blacklist_add",
        target: c.ip,
        changed: true
      } as const
    })
}

describe("incident report figures (property)", () => {
  it("prints, for any event set, the counts a reference computes from the events themselves", () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 60 }),
        fc.array(changeArb, { maxLength: 6 }),
        fc.constantFrom("block", "detect"),
        fc.nat({ max: 500 }),
        (generated, changes, initialMode, attackIps) => {
          const events = generated.map((g, i) => attackEvent(i + 1, g.ip, g.offset, g.deny, g.pass))
          const journal = journalOf(changes, initialMode)
          const currentMode = journal.filter((c) => c.action === "set_mode").at(-1)?.modeAfter ?? initialMode
          const summary = summarizeAttacks({
            window: { startMs: T0, endMs: T0 + HOUR },
            events,
            eventsTotal: events.length,
            records: [],
            recordsTotal: 0,
            blocklist: []
          })
          const text = buildIncidentReport({
            summary,
            windowLabel: "the last hour",
            stats: stats(attackIps),
            currentMode,
            journal,
            sessionId: SESSION,
            threats: []
          })

          // Reference counts, straight from the generated events.
          const blocked = events.reduce((n, e) => n + e.deny_count, 0)
          const passed = events.reduce((n, e) => n + e.pass_count, 0)
          const ips = new Set(events.map((e) => e.ip))
          const passedBy = new Map<string, number>()
          for (const e of events) if (e.pass_count > 0) passedBy.set(e.ip, (passedBy.get(e.ip) ?? 0) + e.pass_count)

          expect(text).toContain(`has ${events.length.toLocaleString("en-US")} attack events in the last hour`)
          const figures = text.match(
            /Of these ([\d,]+) events: ([\d,]+) attack requests blocked, ([\d,]+) passed, from ([\d,]+) distinct source IPs/
          )!
          expect(number(figures[1]!)).toBe(events.length)
          expect(number(figures[2]!)).toBe(blocked)
          expect(number(figures[3]!)).toBe(passed)
          expect(number(figures[4]!)).toBe(ips.size)
          expect(text).toContain(`${attackIps.toLocaleString("en-US")} attacking IPs in the last hour (`)

          // Who passed: exactly the IPs with passed requests, each with its own count.
          if (passedBy.size === 0) {
            expect(text).toContain("No malicious request reached the application")
          } else {
            const reached = text.match(/reached the application, from ([\d,]+) IPs: (.*?)(, …)?\. Review/)!
            expect(number(reached[1]!)).toBe(passedBy.size)
            for (const part of reached[2]!.split(", ")) {
              const [, ip, count] = part.match(/^(.*) \(([\d,]+)\)$/)!
              expect(passedBy.get(ip!)).toBe(number(count!))
            }
          }

          // Blocks by the mode in force when each event started.
          const modeChanges = journal.filter((c) => c.action === "set_mode")
          const expectedByMode = new Map<string, number>()
          for (const e of events) {
            if (e.deny_count === 0) continue
            const before = modeChanges.filter((c) => c.at <= e.start_at).at(-1)
            const mode = before?.modeAfter ?? modeChanges[0]?.modeBefore ?? currentMode
            expectedByMode.set(mode, (expectedByMode.get(mode) ?? 0) + e.deny_count)
          }
          if (blocked === 0) {
            expect(text).toContain("SafeLine blocked no attack request in these events.")
          } else {
            const byMode = text.match(
              /blocked ([\d,]+) attack requests in these events, by the mode in force when each event started: (.*?)( \(no mode change on record by this agent\))?\.\n/
            )!
            expect(number(byMode[1]!)).toBe(blocked)
            const printed = new Map(
              [...byMode[2]!.matchAll(/([\d,]+) in (\w+) mode/g)].map((m) => [m[2]!, number(m[1]!)])
            )
            expect(printed).toEqual(expectedByMode)
          }

          // The session's own actions are listed; nothing already done is recommended.
          const actions = text.slice(text.indexOf("## Actions taken"), text.indexOf("## Recommendations"))
          const mine = journal.filter((c) => c.sessionId === SESSION)
          if (mine.length === 0) expect(actions).toContain("No WAF change was made in this session.")
          for (const c of mine) {
            expect(actions).toContain(
              c.action === "set_mode"
                ? `${c.principal}: ${c.changed ? "switched protection" : "asked for"}`
                : `${c.principal}: blacklisted ${c.target}`
            )
          }
          const recommendations = text.slice(text.indexOf("## Recommendations"))
          for (const c of journal)
            if (c.action === "blacklist_add") expect(recommendations).not.toContain(`"ban ${c.target}"`)
          if (currentMode === "block" || currentMode === "strict")
            expect(recommendations).not.toContain("Switch to block mode")
        }
      ),
      { numRuns: 300 }
    )
  })
})

describe("incident report: bans lifted since", () => {
  it("recommends a ban again once it was lifted (by hand or by a timed ban's revert), not 'already blacklisted'", () => {
    const event = attackEvent(1, "203.0.113.1", 0, 3, 2)
    const summary = summarizeAttacks({
      window: { startMs: T0, endMs: T0 + HOUR },
      events: [event],
      eventsTotal: 1,
      records: [],
      recordsTotal: 0,
      blocklist: []
    })
    const ban = { principal: "bob", sessionId: "x", target: "203.0.113.1", changed: true } as const
    const report = (journal: Array<AppliedChange>) =>
      buildIncidentReport({
        summary,
        windowLabel: "the last hour",
        stats: stats(1),
        currentMode: "block",
        journal,
        sessionId: SESSION,
        threats: []
      })
    const stillBanned = report([{ ...ban, at: T0, action: "blacklist_add" }])
    expect(stillBanned).toContain("Already blacklisted, nothing to do: 203.0.113.1")
    const lifted = report([
      { ...ban, at: T0, action: "blacklist_add" },
      { ...ban, at: T0 + 10, principal: "scheduler", action: "blacklist_remove" }
    ])
    expect(lifted).not.toContain("Already blacklisted")
    expect(lifted).toContain('"ban 203.0.113.1"')
  })
})
