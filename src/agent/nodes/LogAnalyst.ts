// log_analyst: what attacked, from where, and whether SafeLine blocked it or let it pass, over the
// time window the question names (every event in it, paged) or the newest events, with every
// figure saying what it counts and over which population.
import { isIP } from "node:net"
import { Clock, Effect } from "effect"
import { type AttackSummary, SafeLineTools } from "../../tools/SafeLineTools.js"
import { composeReply, formatNumber, formatTime } from "../Compose.js"
import { withDataSourceLine } from "../DataSource.js"
import { topSourceFact } from "../EarlierStepTarget.js"
import type { TurnState } from "../GraphState.js"
import { instrumentNode } from "../NodeRunner.js"
import { formatRange, parseTimeWindow, unservableReply } from "../TimeWindow.js"

const ipIn = (message: string): string | undefined =>
  message.match(/[0-9a-f:.]{3,39}/gi)?.find((token) => isIP(token) !== 0)

/** Without a window, this many of the newest events. */
const NEWEST_EVENTS = 100

/** "in the last hour (2026-11-30 05:40 – 06:40 UTC)" or "among the newest 100 events". */
export const populationOf = (summary: AttackSummary, label: string | undefined): string =>
  summary.window === undefined || label === undefined
    ? `the newest ${formatNumber(summary.events.length)} events (no time window asked)`
    : `${label} (${formatRange(summary.window.startMs, summary.window.endMs)})`

/** The events whose requests passed, by passed requests: who actually reached the application. */
export const passingSources = (summary: AttackSummary) => {
  const byIp = new Map<string, number>()
  for (const e of summary.events) if (e.passed > 0) byIp.set(e.ip, (byIp.get(e.ip) ?? 0) + e.passed)
  return [...byIp.entries()]
    .map(([ip, passed]) => ({ ip, passed }))
    .sort((a, b) => b.passed - a.passed || a.ip.localeCompare(b.ip))
}

export const logAnalystNode = (state: TurnState) =>
  instrumentNode(
    "log_analyst",
    Effect.gen(function* () {
      const tools = yield* SafeLineTools
      const now = yield* Clock.currentTimeMillis
      const window = parseTimeWindow(state.message, now)
      if (window.kind === "unservable") return { reply: unservableReply(window), sources: [], failed: false }
      const ip = ipIn(state.message)
      const summary = yield* tools.getAttackEvents(
        "log_analyst",
        window.kind === "range"
          ? { window: { startMs: window.startMs, endMs: window.endMs }, ip }
          : { limit: NEWEST_EVENTS, ip }
      )
      const scope = ip === undefined ? "" : ` from ${ip}`
      const population = populationOf(summary, window.kind === "range" ? window.label : undefined)
      if (summary.total === 0) {
        return {
          reply: yield* withDataSourceLine(
            `SafeLine's events API has no attack events${scope} ${window.kind === "range" ? `in ${population}` : "at all"}. Detection is working if the protection mode is not "off".`
          ),
          sources: [],
          failed: false
        }
      }
      const n = summary.events.length
      const lines = [
        window.kind === "range"
          ? `SafeLine's events API has ${formatNumber(summary.total)} attack events${scope} in ${population}${summary.complete ? "" : `; the figures below cover the newest ${formatNumber(n)} of them (paging stops there)`}.`
          : `SafeLine holds ${formatNumber(summary.total)} attack events${scope}; the figures below are over ${population}.`,
        `Of these ${formatNumber(n)} events: ${formatNumber(summary.blocked)} attack requests blocked and ${formatNumber(summary.passed)} passed, from ${formatNumber(summary.sourceIps)} distinct source IPs.`
      ]
      if (summary.topSourceIps.length > 0) {
        lines.push(`Top source IPs, by events among these ${formatNumber(n)}:`)
        summary.topSourceIps.slice(0, 5).forEach((s, i) => {
          lines.push(
            `  ${i + 1}. ${s.ip} (${s.country || "unknown"}): ${formatNumber(s.count)} events, ${formatNumber(s.blocked)} requests blocked / ${formatNumber(s.passed)} passed`
          )
        })
      }
      if (summary.attackTypes.length > 0) {
        lines.push(
          `Attack types, over the newest ${formatNumber(summary.records.length)} of the ${formatNumber(summary.recordsTotal)} detection records${window.kind === "range" ? " in the same window" : ""} (a different count from events: one event holds many requests): ${summary.attackTypes
            .slice(0, 6)
            .map((t) => `${t.name} (${formatNumber(t.count)})`)
            .join(", ")}.`
        )
      }
      const latest = summary.events[0]
      if (latest !== undefined) {
        lines.push(
          `Latest: event #${latest.id} at ${formatTime(latest.startAt)} from ${latest.ip} to ${latest.host} (${latest.attackTypes.join(", ") || "unclassified"}), ${formatNumber(latest.blocked)} blocked / ${formatNumber(latest.passed)} passed.`
        )
      }
      const passing = passingSources(summary)
      if (passing.length > 0) {
        const notBanned = passing.filter((p) => !summary.blocklist.includes(p.ip))
        lines.push(
          `${formatNumber(summary.passed)} attack requests passed the WAF, from ${formatNumber(passing.length)} IPs: ${passing
            .slice(0, 5)
            .map((p) => `${p.ip} (${formatNumber(p.passed)})`)
            .join(", ")}. Some modules are in detect/off mode or these requests were not blocked.`,
          notBanned.length === 0
            ? "Every IP whose requests passed is already in the agent's blocklist."
            : `Consider "switch to block mode" and "ban ${notBanned[0]!.ip}".`
        )
      } else {
        lines.push(`Every attack request in these ${formatNumber(n)} events was blocked.`)
      }
      const reply = yield* composeReply(
        "log_analyst",
        state.message,
        { summary: { ...summary, records: summary.records.slice(0, 10) } },
        lines.join("\n")
      )
      return {
        reply: yield* withDataSourceLine(reply),
        sources: [],
        failed: false,
        facts: topSourceFact(summary, window.kind === "range" ? window.label : undefined)
      }
    })
  )
