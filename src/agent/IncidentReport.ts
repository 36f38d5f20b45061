// The incident report, built from tool results only: every figure says what it counts and over
// which window, who passed comes from the passed events, blocks are attributed to the mode in
// force when each event started, the session's own changes are listed, and what is already done
// is not recommended again. Pure, so a property test checks each figure against its own count.
import type { AppliedChange, AttackSummary, ThreatInfo, TrafficStats } from "../tools/SafeLineTools.js"
import { formatNumber, formatTime } from "./Compose.js"
import { formatRange } from "./TimeWindow.js"

export interface IncidentReportInput {
  readonly summary: AttackSummary
  /** The window's label ("the last 24 hours"); undefined when the question named none. */
  readonly windowLabel: string | undefined
  /** SafeLine's counters over the same window (or the last 24 h when there is none). */
  readonly stats: TrafficStats
  readonly currentMode: string
  /** Every change applied through this process, oldest first. */
  readonly journal: ReadonlyArray<AppliedChange>
  readonly sessionId: string
  readonly threats: ReadonlyArray<ThreatInfo>
}

const severityOf = (passed: number, threats: ReadonlyArray<ThreatInfo>): string => {
  const critical = threats.some((t) => t.severity === "critical")
  if (passed > 0 && critical) return "SEV2 (attacks with critical impact passed the WAF)"
  if (passed > 0) return "SEV3 (some attacks passed the WAF)"
  return "SEV4 (all detected attacks were blocked)"
}

/**
 * The mode in force at a time: the last mode change made before it; before the first change, the
 * mode that change replaced; with no change on record, the current mode.
 */
export const modeAt = (at: number, modeChanges: ReadonlyArray<AppliedChange>, currentMode: string): string => {
  let mode: string | undefined
  for (const change of modeChanges) {
    if (change.at > at) return mode ?? change.modeBefore ?? currentMode
    mode = change.modeAfter
  }
  return mode ?? currentMode
}

const describeChange = (c: AppliedChange): string => {
  const what =
    c.action === "set_mode"
      ? c.changed
        ? `switched protection from ${c.modeBefore} to ${c.modeAfter} mode`
        : `asked for ${c.modeAfter} mode (already in force)`
      : c.action === "blacklist_add"
        ? c.changed
          ? `blacklisted ${c.target}`
          : `blacklisted ${c.target} (already in the blocklist)`
        : c.changed
          ? `removed ${c.target} from the blacklist`
          : `removed ${c.target} from the blacklist (it was not there)`
  return `- ${formatTime(c.at)} ${c.principal}: ${what}`
}

export const buildIncidentReport = (input: IncidentReportInput): string => {
  const { summary, stats, journal } = input
  const n = summary.events.length
  const window =
    summary.window === undefined || input.windowLabel === undefined
      ? undefined
      : `${input.windowLabel} (${formatRange(summary.window.startMs, summary.window.endMs)})`
  const population = window === undefined ? `the newest ${formatNumber(n)} events (no time window asked)` : window
  const statsWindow = window ?? `the last ${formatNumber(stats.windowSeconds / 3600)} h`

  // Who passed: from the events whose requests passed, never from the top-sources list.
  const passedBy = new Map<string, number>()
  for (const e of summary.events) if (e.passed > 0) passedBy.set(e.ip, (passedBy.get(e.ip) ?? 0) + e.passed)
  const passing = [...passedBy.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))

  // Blocks by the mode in force when each event started.
  const modeChanges = journal.filter((c) => c.action === "set_mode")
  const blockedByMode = new Map<string, number>()
  for (const e of summary.events) {
    if (e.blocked === 0) continue
    const mode = modeAt(e.startAt, modeChanges, input.currentMode)
    blockedByMode.set(mode, (blockedByMode.get(mode) ?? 0) + e.blocked)
  }

  const mine = journal.filter((c) => c.sessionId === input.sessionId)
  // SafeLine's blocklist, plus the agent's bans still in force by its journal (replayed in order:
  // a ban lifted since, by hand or by a timed change's revert, no longer counts).
  const banned = new Set(summary.blocklist)
  for (const c of journal) {
    if (c.target === undefined) continue
    if (c.action === "blacklist_add") banned.add(c.target)
    else if (c.action === "blacklist_remove" && !summary.blocklist.includes(c.target)) banned.delete(c.target)
  }
  const events = [...summary.events].sort((a, b) => a.startAt - b.startAt)
  const first = events[0]
  const last = events.at(-1)
  const toBan = (passing.length > 0 ? passing.map(([ip]) => ip) : summary.topSourceIps.map((s) => s.ip))
    .filter((ip) => !banned.has(ip))
    .slice(0, 2)
  const alreadyBanned = (passing.length > 0 ? passing.map(([ip]) => ip) : summary.topSourceIps.map((s) => s.ip))
    .slice(0, 2)
    .filter((ip) => banned.has(ip))

  return [
    "# Incident report",
    "",
    "## Summary",
    window === undefined
      ? `SafeLine holds ${formatNumber(summary.total)} attack events; this report covers ${population}.`
      : `SafeLine's events API has ${formatNumber(summary.total)} attack events in ${population}${summary.complete ? "" : `; this report covers the newest ${formatNumber(n)} of them`}.`,
    `Of these ${formatNumber(n)} events: ${formatNumber(summary.blocked)} attack requests blocked, ${formatNumber(summary.passed)} passed, from ${formatNumber(summary.sourceIps)} distinct source IPs.`,
    `${formatNumber(stats.attacks.attackIps)} attacking IPs in ${statsWindow} (SafeLine stats).`,
    `Severity: ${severityOf(summary.passed, input.threats)}.`,
    "",
    "## Timeline",
    ...(first === undefined
      ? ["No events in the period."]
      : [
          `- ${formatTime(first.startAt)} first event (#${first.id}) from ${first.ip} (${first.attackTypes.join(", ") || "unclassified"})`,
          ...events
            .filter((e) => e.passed > 0)
            .slice(0, 3)
            .map(
              (e) => `- ${formatTime(e.startAt)} event #${e.id} from ${e.ip}: ${formatNumber(e.passed)} requests passed`
            ),
          `- ${formatTime(last!.startAt)} latest event (#${last!.id}) from ${last!.ip}`
        ]),
    "",
    "## Impact",
    `Attack types, over the newest ${formatNumber(summary.records.length)} of the ${formatNumber(summary.recordsTotal)} detection records: ${summary.attackTypes.map((t) => `${t.name} (${formatNumber(t.count)})`).join(", ") || "none"}.`,
    passing.length > 0
      ? `${formatNumber(summary.passed)} malicious requests reached the application, from ${formatNumber(passing.length)} IPs: ${passing
          .slice(0, 5)
          .map(([ip, count]) => `${ip} (${formatNumber(count)})`)
          .join(", ")}${passing.length > 5 ? ", …" : ""}. Review the application's logs for those.`
      : `No malicious request reached the application in these ${formatNumber(n)} events, according to SafeLine.`,
    `Traffic now: ${formatNumber(stats.qps)} req/s; protection mode now: ${input.currentMode}.`,
    "",
    "## Actions taken",
    summary.blocked > 0
      ? `- SafeLine blocked ${formatNumber(summary.blocked)} attack requests in these events, by the mode in force when each event started: ${[
          ...blockedByMode.entries()
        ]
          .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
          .map(([mode, count]) => `${formatNumber(count)} in ${mode} mode`)
          .join(", ")}${modeChanges.length === 0 ? " (no mode change on record by this agent)" : ""}.`
      : "- SafeLine blocked no attack request in these events.",
    ...(mine.length === 0 ? ["- No WAF change was made in this session."] : mine.map((c) => describeChange(c))),
    "",
    "## Recommendations",
    ...(input.currentMode !== "block" && input.currentMode !== "strict"
      ? ['- Switch to block mode ("switch to block mode").']
      : []),
    ...toBan.map((ip) => `- Blacklist ${ip}: "ban ${ip}".`),
    ...(alreadyBanned.length > 0 ? [`- Already blacklisted, nothing to do: ${alreadyBanned.join(", ")}.`] : []),
    ...input.threats.slice(0, 1).flatMap((t) => t.remediation.slice(0, 2).map((r) => `- ${t.name}: ${r}`)),
    "- Keep this report with the JSONL trace of this turn for the post-incident review."
  ].join("\n")
}
