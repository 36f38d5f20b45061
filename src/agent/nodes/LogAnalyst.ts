// log_analyst: what attacked, from where, and whether SafeLine blocked it or let it pass.
import { isIP } from "node:net"
import { Effect } from "effect"
import { SafeLineTools } from "../../tools/SafeLineTools.js"
import { composeReply, formatNumber, formatTime } from "../Compose.js"
import type { TurnState } from "../GraphState.js"
import { instrumentNode } from "../NodeRunner.js"

const ipIn = (message: string): string | undefined =>
  message.match(/[0-9a-f:.]{3,39}/gi)?.find((token) => isIP(token) !== 0)

export const logAnalystNode = (state: TurnState) =>
  instrumentNode(
    "log_analyst",
    Effect.gen(function* () {
      const tools = yield* SafeLineTools
      const ip = ipIn(state.message)
      const summary = yield* tools.getAttackEvents("log_analyst", ip === undefined ? { limit: 50 } : { limit: 50, ip })
      const scope = ip === undefined ? "" : ` from ${ip}`
      if (summary.total === 0) {
        return {
          reply: `No attack events${scope} are recorded in SafeLine for this period. Detection is working if the protection mode is not "off".`,
          sources: [],
          failed: false
        }
      }
      const lines = [
        `${formatNumber(summary.total)} attack events${scope}, with ${formatNumber(summary.blocked)} attack requests blocked and ${formatNumber(summary.passed)} passed.`
      ]
      if (summary.topSourceIps.length > 0) {
        lines.push("Top source IPs:")
        summary.topSourceIps.slice(0, 5).forEach((s, i) => {
          lines.push(
            `  ${i + 1}. ${s.ip} (${s.country || "unknown"}): ${formatNumber(s.count)} events, ${formatNumber(s.blocked)} requests blocked / ${formatNumber(s.passed)} passed`
          )
        })
      }
      if (summary.attackTypes.length > 0) {
        lines.push(
          `Attack types: ${summary.attackTypes
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
      if (summary.passed > 0) {
        const top = summary.topSourceIps[0]
        lines.push(
          `${formatNumber(summary.passed)} attack requests passed the WAF: some modules are in detect/off mode. Consider "switch to block mode"${top === undefined ? "" : ` and "ban ${top.ip}"`}.`
        )
      } else {
        lines.push("Every detected attack was blocked.")
      }
      const reply = yield* composeReply(
        "log_analyst",
        state.message,
        { summary: { ...summary, records: summary.records.slice(0, 10) } },
        lines.join("\n")
      )
      return { reply, sources: [], failed: false }
    })
  )
