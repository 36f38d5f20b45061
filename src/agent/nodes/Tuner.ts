// tuner: finds likely false positives in the detection records (one rule on one path, hit by
// many different clients, or the path the user names) and proposes the narrowest allow rule.
import { Effect } from "effect"
import { RagSearchTool } from "../../tools/RagSearchTool.js"
import { type AttackSummary, SafeLineTools } from "../../tools/SafeLineTools.js"
import { allToolCalls, composeReply, formatNumber } from "../Compose.js"
import { withDataSourceLine } from "../DataSource.js"
import type { TurnState } from "../GraphState.js"
import { instrumentNode } from "../NodeRunner.js"

type DetectRecord = AttackSummary["records"][number]

interface Candidate {
  readonly host: string
  readonly path: string
  readonly module: string
  readonly ruleId: string
  readonly attackTypeName: string
  readonly hits: number
  readonly clients: number
  readonly sample: string
}

const candidatesFrom = (records: ReadonlyArray<DetectRecord>, pathHint: string | undefined): Array<Candidate> => {
  const groups = new Map<string, Array<DetectRecord>>()
  for (const r of records) {
    if (r.action !== "block") continue
    if (pathHint !== undefined && !r.urlPath.startsWith(pathHint)) continue
    const key = `${r.host}\u0000${r.urlPath}\u0000${r.ruleId}`
    groups.set(key, [...(groups.get(key) ?? []), r])
  }
  return [...groups.values()]
    .map((rs) => ({
      host: rs[0]!.host,
      path: rs[0]!.urlPath,
      module: rs[0]!.module,
      ruleId: rs[0]!.ruleId,
      attackTypeName: rs[0]!.attackTypeName,
      hits: rs.length,
      clients: new Set(rs.map((r) => r.srcIp)).size,
      sample: rs[0]!.payload.slice(0, 80)
    }))
    .sort((a, b) => b.clients - a.clients || b.hits - a.hits)
}

const allowRule = (c: Candidate) =>
  JSON.stringify(
    {
      name: `allow ${c.module} false positive on ${c.path}`,
      is_enabled: true,
      action: 0,
      pattern: [
        [
          { k: "host", op: "eq", v: [c.host], sub_k: "" },
          { k: "uri", op: "prefix", v: [c.path], sub_k: "" }
        ]
      ]
    },
    null,
    2
  )

export const tunerNode = (state: TurnState) =>
  instrumentNode(
    "tuner",
    Effect.gen(function* () {
      const tools = yield* SafeLineTools
      const rag = yield* RagSearchTool
      const pathHint = state.message.match(/(\/[\w\-./]*)/)?.[1]
      const [summary, passages] = yield* allToolCalls([
        tools.getAttackEvents("tuner", { limit: 100 }),
        rag.search("tuner", "false positive tuning allow rule narrow scope", { limit: 2 })
      ])
      const candidates = candidatesFrom(summary.records, pathHint)
      const lines: Array<string> = []
      const best = candidates[0]
      if (best === undefined) {
        lines.push(
          pathHint === undefined
            ? `None of the ${formatNumber(summary.records.length)} recent detection records looks like a false positive (no blocked rule hit on one path by many clients).`
            : `No blocked request to ${pathHint} appears in the ${formatNumber(summary.records.length)} recent detection records; check the path, or the time of the blocked request.`
        )
      } else {
        lines.push(
          `Most likely false positive: rule ${best.ruleId} (${best.module}, ${best.attackTypeName}) blocked ${formatNumber(best.hits)} requests to ${best.host}${best.path} from ${formatNumber(best.clients)} different clients. Sample payload: ${JSON.stringify(best.sample)}.`,
          "If that payload is legitimate for this endpoint, add a narrow allow policy (POST /api/open/policy) scoped to this host and path only, rather than disabling the module:",
          allowRule(best),
          "Keep the rest of the site protected; re-check the detection records after the change. Putting only this module in dry_run is the alternative while you investigate."
        )
        if (candidates.length > 1) {
          lines.push(
            `Other candidates: ${candidates
              .slice(1, 4)
              .map((c) => `${c.host}${c.path} (rule ${c.ruleId}, ${c.hits} hits, ${c.clients} clients)`)
              .join("; ")}.`
          )
        }
      }
      const sources = passages.map((p) => ({ source: p.source, section: p.section }))
      if (sources.length > 0) lines.push(`See: ${sources.map((s) => `${s.source} > ${s.section}`).join("; ")}.`)
      const reply = yield* withDataSourceLine(
        yield* composeReply("tuner", state.message, { candidates: candidates.slice(0, 5) }, lines.join("\n"))
      )
      return { reply, sources, failed: false }
    })
  )
