// monitor: current traffic (QPS from SafeLine's 5-second buckets), access and attack counters,
// and the protection mode, in numbers.
import { Clock, Effect } from "effect"
import { SafeLineTools } from "../../tools/SafeLineTools.js"
import { allToolCalls, composeReply, formatNumber } from "../Compose.js"
import { withDataSourceLine } from "../DataSource.js"
import type { TurnState } from "../GraphState.js"
import { instrumentNode } from "../NodeRunner.js"
import { formatRange, parseTimeWindow, unservableReply } from "../TimeWindow.js"

export const monitorNode = (state: TurnState) =>
  instrumentNode(
    "monitor",
    Effect.gen(function* () {
      const tools = yield* SafeLineTools
      // SafeLine's counters are asked for the window the question names (default: the last 24 h).
      const window = parseTimeWindow(state.message, yield* Clock.currentTimeMillis)
      if (window.kind === "unservable") return { reply: unservableReply(window), sources: [], failed: false }
      const range = window.kind === "range" ? { startMs: window.startMs, endMs: window.endMs } : undefined
      const [stats, mode] = yield* allToolCalls([
        tools.getTrafficStats("monitor", range),
        tools.getProtectionMode("monitor")
      ])
      const over =
        window.kind === "range"
          ? `${window.label} (${formatRange(window.startMs, window.endMs)})`
          : `the last ${formatNumber(stats.windowSeconds / 3600)} h`
      const series = stats.qpsSeries.map((p) => p.qps)
      const average = series.length === 0 ? 0 : series.reduce((a, b) => a + b, 0) / series.length
      const peak = series.length === 0 ? 0 : Math.max(...series)
      const lines = [
        `Current traffic: ${formatNumber(stats.qps)} requests/s (latest 5-second bucket).`,
        series.length > 0
          ? `Over the last ${formatNumber(series.length * 5)} s: average ${formatNumber(average)} req/s, peak ${formatNumber(peak)} req/s.`
          : "No QPS samples yet.",
        `Access in ${over} (SafeLine stats): ${formatNumber(stats.access.requests)} requests from ${formatNumber(stats.access.uniqueIps)} IPs in ${formatNumber(stats.access.sessions)} sessions.`,
        `Attacks in ${over} (SafeLine stats): ${formatNumber(stats.attacks.attackIps)} attacking IPs; requests ${formatNumber(stats.attacks.blocked)} blocked, ${formatNumber(stats.attacks.rateLimited)} rate-limited, ${formatNumber(stats.attacks.challenged)} challenged, ${formatNumber(stats.attacks.blacklisted)} blacklisted.`,
        `Protection mode: ${mode.mode}${mode.mode === "mixed" ? " (modules differ)" : ""} across ${Object.keys(mode.modules).length} detection modules.`
      ]
      if (peak > 0 && stats.qps > average * 3 && stats.qps > 10) {
        lines.push("Traffic is well above its recent average: check the attack events for a flood or scanner.")
      }
      if (mode.mode === "detect" || mode.mode === "off") {
        lines.push(`Attacks are not being blocked in ${mode.mode} mode; say "switch to block mode" to enforce.`)
      }
      const reply = yield* withDataSourceLine(
        yield* composeReply("monitor", state.message, { stats, mode }, lines.join("\n"))
      )
      return { reply, sources: [], failed: false }
    })
  )
