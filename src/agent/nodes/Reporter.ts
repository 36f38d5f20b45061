// reporter: a structured incident report — summary, timeline, impact, actions, recommendations —
// built from SafeLine's events, traffic, protection mode and threat data.
import { Effect } from "effect"
import { SafeLineTools, type ThreatInfo } from "../../tools/SafeLineTools.js"
import { allToolCalls, composeReply, formatNumber, formatTime } from "../Compose.js"
import type { TurnState } from "../GraphState.js"
import { instrumentNode } from "../NodeRunner.js"

const severityOf = (passed: number, threats: ReadonlyArray<ThreatInfo>): string => {
  const critical = threats.some((t) => t.severity === "critical")
  if (passed > 0 && critical) return "SEV2 (attacks with critical impact passed the WAF)"
  if (passed > 0) return "SEV3 (some attacks passed the WAF)"
  return "SEV4 (all detected attacks were blocked)"
}

export const reporterNode = (state: TurnState) =>
  instrumentNode(
    "reporter",
    Effect.gen(function* () {
      const tools = yield* SafeLineTools
      const [summary, stats, mode] = yield* allToolCalls([
        tools.getAttackEvents("reporter", { limit: 100 }),
        tools.getTrafficStats("reporter"),
        tools.getProtectionMode("reporter")
      ])
      const topType = summary.attackTypes.find((t) => t.attackType >= 0)
      const threats = topType === undefined ? [] : yield* tools.cveLookup("reporter", String(topType.attackType))
      const events = [...summary.events].sort((a, b) => a.startAt - b.startAt)
      const first = events[0]
      const last = events.at(-1)
      const lines = [
        "# Incident report",
        "",
        "## Summary",
        `${formatNumber(summary.total)} attack events from ${formatNumber(summary.topSourceIps.length)} source IPs; ${formatNumber(summary.blocked)} blocked, ${formatNumber(summary.passed)} passed. Severity: ${severityOf(summary.passed, threats)}.`,
        "",
        "## Timeline",
        ...(first === undefined
          ? ["No events in the period."]
          : [
              `- ${formatTime(first.startAt)} first event (#${first.id}) from ${first.ip} (${first.attackTypes.join(", ") || "unclassified"})`,
              ...events
                .filter((e) => e.passed > 0)
                .slice(0, 3)
                .map((e) => `- ${formatTime(e.startAt)} event #${e.id} from ${e.ip}: ${e.passed} requests passed`),
              `- ${formatTime(last!.startAt)} latest event (#${last!.id}) from ${last!.ip}`
            ]),
        "",
        "## Impact",
        `Attack types: ${summary.attackTypes.map((t) => `${t.name} (${t.count})`).join(", ") || "none"}.`,
        summary.passed > 0
          ? `${formatNumber(summary.passed)} malicious requests reached the application: review its logs for ${summary.topSourceIps
              .slice(0, 3)
              .map((s) => s.ip)
              .join(", ")}.`
          : "No malicious request reached the application according to SafeLine.",
        `Traffic now: ${formatNumber(stats.qps)} req/s; protection mode: ${mode.mode}.`,
        "",
        "## Actions taken",
        `- SafeLine ${summary.blocked > 0 ? `blocked ${formatNumber(summary.blocked)} attack requests` : "blocked nothing"} in ${mode.mode} mode.`,
        "",
        "## Recommendations",
        ...(mode.mode !== "block" && mode.mode !== "strict"
          ? ['- Switch to block mode ("switch to block mode").']
          : []),
        ...summary.topSourceIps.slice(0, 2).map((s) => `- Blacklist ${s.ip} (${s.count} events): "ban ${s.ip}".`),
        ...threats.slice(0, 1).flatMap((t) => t.remediation.slice(0, 2).map((r) => `- ${t.name}: ${r}`)),
        "- Keep this report with the JSONL trace of this turn for the post-incident review."
      ]
      const reply = yield* composeReply("reporter", state.message, { summary, stats, mode, threats }, lines.join("\n"))
      return { reply, sources: [], failed: false }
    })
  )
