// threat_intel: CWE, OWASP Top 10 (2021), severity, remediation and example CVEs — for what the
// user asks about, or for the attack types SafeLine is seeing right now.
import { Effect } from "effect"
import { SafeLineTools, type ThreatInfo } from "../../tools/SafeLineTools.js"
import { composeReply } from "../Compose.js"
import type { TurnState } from "../GraphState.js"
import { instrumentNode } from "../NodeRunner.js"

const SPECIFIC =
  /\bcve-\d{4}-\d{4,}\b|\bcwe-?\d+\b|sql\s*injection|sqli|xss|cross[\s-]site|ssrf|csrf|xxe|traversal|command\s+injection|code\s+(?:execution|injection)|rce|deserializ|upload|file\s+inclu|ssti|template\s+injection|scanner|crlf|redirect|backdoor|log4shell|shellshock|struts|dos\b/i

const describe = (t: ThreatInfo): string =>
  [
    `${t.name} — ${t.owasp}, ${t.cwe.join(", ") || "no CWE"}, severity ${t.severity}.`,
    `  ${t.description}`,
    `  Remediation: ${t.remediation.slice(0, 3).join("; ")}.`,
    t.exampleCves.length > 0 ? `  Example CVEs: ${t.exampleCves.slice(0, 4).join(", ")}.` : ""
  ]
    .filter((l) => l !== "")
    .join("\n")

export const threatIntelNode = (state: TurnState) =>
  instrumentNode(
    "threat_intel",
    Effect.gen(function* () {
      const tools = yield* SafeLineTools
      const asked = state.message.match(SPECIFIC)?.[0]
      let threats: ReadonlyArray<ThreatInfo> = []
      let context = ""
      if (asked !== undefined) {
        threats = yield* tools.cveLookup("threat_intel", asked)
      }
      if (threats.length === 0) {
        const summary = yield* tools.getAttackEvents("threat_intel", { limit: 50 })
        const seen = summary.attackTypes.filter((t) => t.attackType >= 0).slice(0, 3)
        const lookups = yield* Effect.forEach(seen, (t) => tools.cveLookup("threat_intel", String(t.attackType)))
        threats = lookups.flatMap((l) => l.slice(0, 1))
        context =
          seen.length === 0
            ? "SafeLine shows no classified attacks right now, and the question names no CVE, CWE or attack class."
            : `Threat profile of the attacks SafeLine sees now (${seen.map((t) => `${t.name}: ${t.count}`).join(", ")}):`
      }
      const draft = [context, ...threats.map(describe)].filter((l) => l !== "").join("\n")
      const reply = yield* composeReply(
        "threat_intel",
        state.message,
        { threats },
        draft || "I found no threat data for that."
      )
      return { reply, sources: [], failed: false }
    })
  )
