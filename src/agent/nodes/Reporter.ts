// reporter: a structured incident report (summary, timeline, impact, actions, recommendations)
// over the window the question names, built from SafeLine's events, stats and protection mode,
// the changes applied through the agent, and threat data (src/agent/IncidentReport.ts).
import { Clock, Effect, Option } from "effect"
import { getTurn } from "../../observability/Correlation.js"
import { SafeLineTools } from "../../tools/SafeLineTools.js"
import { allToolCalls, composeReply } from "../Compose.js"
import { withDataSourceLine } from "../DataSource.js"
import { topSourceFact } from "../EarlierStepTarget.js"
import type { TurnState } from "../GraphState.js"
import { buildIncidentReport } from "../IncidentReport.js"
import { instrumentNode } from "../NodeRunner.js"
import { parseTimeWindow, unservableReply } from "../TimeWindow.js"

/** Without a window, the report covers this many of the newest events. */
const NEWEST_EVENTS = 100

export const reporterNode = (state: TurnState) =>
  instrumentNode(
    "reporter",
    Effect.gen(function* () {
      const tools = yield* SafeLineTools
      const now = yield* Clock.currentTimeMillis
      const window = parseTimeWindow(state.message, now)
      if (window.kind === "unservable") return { reply: unservableReply(window), sources: [], failed: false }
      const range = window.kind === "range" ? { startMs: window.startMs, endMs: window.endMs } : undefined
      const [summary, stats, mode] = yield* allToolCalls([
        tools.getAttackEvents("reporter", range === undefined ? { limit: NEWEST_EVENTS } : { window: range }),
        tools.getTrafficStats("reporter", range),
        tools.getProtectionMode("reporter")
      ])
      const topType = summary.attackTypes.find((t) => t.attackType >= 0)
      const threats = topType === undefined ? [] : yield* tools.cveLookup("reporter", String(topType.attackType))
      const journal = yield* tools.changeJournal
      const sessionId = Option.match(yield* getTurn, { onNone: () => state.sessionId, onSome: (t) => t.sessionId })
      const draft = buildIncidentReport({
        summary,
        windowLabel: window.kind === "range" ? window.label : undefined,
        stats,
        currentMode: mode.mode,
        journal,
        sessionId,
        threats
      })
      const reply = yield* composeReply("reporter", state.message, { summary, stats, mode, threats, journal }, draft)
      return {
        reply: yield* withDataSourceLine(reply),
        sources: [],
        failed: false,
        facts: topSourceFact(summary, window.kind === "range" ? window.label : undefined)
      }
    })
  )
