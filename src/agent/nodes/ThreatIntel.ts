// threat_intel: CVEs from the bundled CISA KEV catalog (name, vendor, product, date added, known
// ransomware use, required action, CWE), "are we seeing it?" answered from our own detection
// records, and CWE / OWASP Top 10 (2021) / remediation context for attack classes.
import { Clock, Effect } from "effect"
import { type AttackSummary, type KevLookup, SafeLineTools, type ThreatInfo } from "../../tools/SafeLineTools.js"
import { composeReply, formatNumber, formatTime } from "../Compose.js"
import { withDataSourceLine } from "../DataSource.js"
import type { TurnState } from "../GraphState.js"
import { instrumentNode } from "../NodeRunner.js"
import { formatRange, parseTimeWindow, unservableReply } from "../TimeWindow.js"

const SPECIFIC =
  /\bcve-\d{4}-\d{4,}\b|\bcwe-?\d+\b|sql\s*injection|sqli|xss|cross[\s-]site|ssrf|csrf|xxe|traversal|command\s+injection|code\s+(?:execution|injection)|rce|deserializ|upload|file\s+inclu|ssti|template\s+injection|scanner|crlf|redirect|backdoor|log4shell|shellshock|struts|dos\b/i

/** The question asks whether our own traffic shows it. */
const ARE_WE_SEEING =
  /\b(?:are|were|do|did)\s+we\s+(?:seeing|see|getting|hit|affected|exposed|targeted|being)|\bseeing\s+it\b|\bin\s+our\s+(?:logs|events|traffic)\b|\bhitting\s+us\b|\bagainst\s+us\b|\bwhether\s+it\s+hits\s+us\b/i

const DAY_MS = 86_400_000

const plural = (n: number, noun: string) => `${formatNumber(n)} ${noun}${n === 1 ? "" : "s"}`

/** The names operators use for a few famous CVEs. */
const NICKNAMES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\blog4shell\b/i, "CVE-2021-44228"],
  [/\bshellshock\b/i, "CVE-2014-6271"],
  [/\bspring4shell\b/i, "CVE-2022-22965"]
]

const describe = (t: ThreatInfo): string =>
  [
    `${t.name} — ${t.owasp}, ${t.cwe.join(", ") || "no CWE"}, severity ${t.severity}.`,
    `  ${t.description}`,
    `  Remediation: ${t.remediation.slice(0, 3).join("; ")}.`,
    t.exampleCves.length > 0 ? `  Example CVEs: ${t.exampleCves.slice(0, 4).join(", ")}.` : ""
  ]
    .filter((l) => l !== "")
    .join("\n")

const describeKev = (cveId: string, kev: KevLookup): string => {
  const e = kev.entry
  if (e === undefined) {
    return `${cveId} is not in the bundled CISA Known Exploited Vulnerabilities catalog (version ${kev.catalogVersion}, released ${kev.dateReleased}): CISA had not listed it as exploited in the wild by then, or it is newer than this snapshot.`
  }
  return [
    `${e.cveId}: ${e.name} — ${e.vendor} ${e.product}.`,
    `  ${e.description}`,
    `  In the CISA KEV catalog since ${e.dateAdded} (known ransomware use: ${e.knownRansomwareUse}); CWE: ${e.cwes.join(", ") || "none given"}.`,
    `  Required action: ${e.requiredAction.replace(/\.+$/, "")}${e.dueDate === "" ? "" : ` (CISA due date ${e.dueDate})`}.`,
    `  (CISA KEV catalog ${kev.catalogVersion}.)`
  ].join("\n")
}

/** What SafeLine's detection records say about one CVE's signature, with the evidence or its absence. */
export const evidenceFor = (cveId: string, kev: KevLookup, summary: AttackSummary, population: string): string => {
  const classNames = kev.classes.map((c) => c.name)
  if (kev.signature.attackTypes.length === 0 && kev.signature.patterns.length === 0) {
    return `Are we seeing ${cveId}? Its CWEs map to no attack class SafeLine detects, so its detection records cannot show it either way.`
  }
  const patterns = kev.signature.patterns.map((p) => p.toLowerCase())
  const byIndicator = summary.records.filter((r) =>
    patterns.some((p) => r.payload.toLowerCase().includes(p) || r.urlPath.toLowerCase().includes(p))
  )
  const byClass = summary.records.filter((r) => kev.signature.attackTypes.includes(r.attackType))
  const scope = `the newest ${formatNumber(summary.records.length)} of the ${formatNumber(summary.recordsTotal)} detection records in ${population}`
  if (byIndicator.length === 0 && byClass.length === 0) {
    return `Are we seeing ${cveId}? No evidence in ${scope}: none matches its request indicators${patterns.length === 0 ? "" : ` (${patterns.join(", ")})`} or the attack classes its CWEs map to (${classNames.join(", ") || "none"}).`
  }
  const lines = [`Are we seeing ${cveId}? Evidence in ${scope}:`]
  if (byIndicator.length > 0) {
    const sample = byIndicator[0]!
    lines.push(
      `  ${formatNumber(byIndicator.length)} records carry its indicators (${patterns.join(", ")}), from ${plural(new Set(byIndicator.map((r) => r.srcIp)).size, "IP")}, ${formatNumber(byIndicator.filter((r) => r.action === "block").length)} blocked / ${formatNumber(byIndicator.filter((r) => r.action === "pass").length)} passed; latest ${sample.method} ${sample.host}${sample.urlPath} from ${sample.srcIp} at ${formatTime(sample.timestamp)} (${sample.action}).`
    )
  } else {
    lines.push(
      `  No record carries its request indicators${patterns.length === 0 ? " (none known for it)" : ` (${patterns.join(", ")})`}.`
    )
  }
  if (byClass.length > 0) {
    const paths = new Map<string, number>()
    for (const r of byClass) paths.set(r.urlPath, (paths.get(r.urlPath) ?? 0) + 1)
    lines.push(
      `  ${formatNumber(byClass.length)} records in the attack classes its CWEs map to (${classNames.join(", ")}), ${formatNumber(byClass.filter((r) => r.action === "pass").length)} of them passed; paths: ${[
        ...paths.entries()
      ]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(([path, count]) => `${path} (${formatNumber(count)})`)
        .join(", ")}. A class match is an attempt of that kind, not proof of this CVE.`
    )
  } else {
    lines.push(`  No record in the attack classes its CWEs map to (${classNames.join(", ")}).`)
  }
  return lines.join("\n")
}

export const threatIntelNode = (state: TurnState) =>
  instrumentNode(
    "threat_intel",
    Effect.gen(function* () {
      const tools = yield* SafeLineTools
      const named = [...state.message.matchAll(/\bcve-\d{4}-\d{4,}\b/gi)].map((m) => m[0].toUpperCase())
      const nicknamed = NICKNAMES.filter(([pattern]) => pattern.test(state.message)).map(([, id]) => id)
      const cves = [...new Set([...named, ...nicknamed])].slice(0, 3)
      if (cves.length > 0) {
        const lookups = yield* Effect.forEach(cves, (id) =>
          Effect.map(tools.kevLookup("threat_intel", id), (kev) => [id, kev] as const)
        )
        const lines = lookups.map(([id, kev]) => describeKev(id, kev))
        const classes = [...new Map(lookups.flatMap(([, kev]) => kev.classes).map((c) => [c.name, c])).values()]
        if (classes.length > 0) {
          lines.push(
            `Attack classes its CWEs map to, as SafeLine classifies them: ${classes
              .map((c) => `${c.name} (${c.owasp}, severity ${c.severity})`)
              .join("; ")}.`
          )
        }
        let figures = false
        if (ARE_WE_SEEING.test(state.message)) {
          const now = yield* Clock.currentTimeMillis
          const window = parseTimeWindow(state.message, now)
          if (window.kind === "unservable") return { reply: unservableReply(window), sources: [], failed: false }
          const range =
            window.kind === "range"
              ? { startMs: window.startMs, endMs: window.endMs, label: window.label }
              : { startMs: now - DAY_MS, endMs: now, label: "the last 24 hours" }
          const summary = yield* tools.getAttackEvents("threat_intel", {
            window: { startMs: range.startMs, endMs: range.endMs },
            maxEvents: 100
          })
          const population = `${range.label} (${formatRange(range.startMs, range.endMs)})`
          lines.push(...lookups.map(([id, kev]) => evidenceFor(id, kev, summary, population)))
          figures = true
        }
        const reply = yield* composeReply(
          "threat_intel",
          state.message,
          { kev: lookups.map(([, k]) => k) },
          lines.join("\n")
        )
        return { reply: figures ? yield* withDataSourceLine(reply) : reply, sources: [], failed: false }
      }

      const asked = state.message.match(SPECIFIC)?.[0]
      let threats: ReadonlyArray<ThreatInfo> = []
      let context = ""
      let figures = false
      if (asked !== undefined) {
        threats = yield* tools.cveLookup("threat_intel", asked)
      }
      if (threats.length === 0) {
        const summary = yield* tools.getAttackEvents("threat_intel", { limit: 50 })
        figures = true
        const seen = summary.attackTypes.filter((t) => t.attackType >= 0).slice(0, 3)
        const lookups = yield* Effect.forEach(seen, (t) => tools.cveLookup("threat_intel", String(t.attackType)))
        threats = lookups.flatMap((l) => l.slice(0, 1))
        context =
          seen.length === 0
            ? "SafeLine shows no classified attacks right now, and the question names no CVE, CWE or attack class."
            : `Threat profile of the attacks SafeLine sees, over the newest ${formatNumber(summary.records.length)} detection records (${seen.map((t) => `${t.name}: ${formatNumber(t.count)}`).join(", ")}):`
      }
      const draft = [context, ...threats.map(describe)].filter((l) => l !== "").join("\n")
      const reply = yield* composeReply(
        "threat_intel",
        state.message,
        { threats },
        draft || "I found no threat data for that."
      )
      return { reply: figures ? yield* withDataSourceLine(reply) : reply, sources: [], failed: false }
    })
  )
