// The route guardrail: a model's route proposal is trusted only when it names exactly one
// allowed specialist, whatever quotes, case, punctuation or sentence surround it.
import { SPECIALISTS, type SpecialistName } from "../domain/Agents.js"

/** Spellings a model may use for a specialist, normalised to lowercase words. */
const ALIASES: ReadonlyArray<readonly [RegExp, SpecialistName]> = [
  [/\blog[\s_-]?analyst\b/, "log_analyst"],
  [/\bconfig(?:uration)?[\s_-]?manager\b/, "config_manager"],
  [/\bthreat[\s_-]?intel(?:ligence)?\b/, "threat_intel"],
  [/\brag[\s_-]?agent\b/, "rag_agent"],
  [/\bmonitor\b/, "monitor"],
  [/\btuner\b/, "tuner"],
  [/\breporter\b/, "reporter"],
  [/\bdirect\b/, "direct"]
]

export type RouteParse =
  | { readonly ok: true; readonly route: SpecialistName }
  | { readonly ok: false; readonly reason: "invalid_token" }

export const parseRoute = (raw: string): RouteParse => {
  const text = raw
    .toLowerCase()
    .replace(/[`"'*_.,:;!?()[\]{}<>]/g, (c) => (c === "_" ? "_" : " "))
    .slice(0, 500)
  const found = new Set<SpecialistName>()
  for (const [pattern, route] of ALIASES) if (pattern.test(text)) found.add(route)
  // Exactly one specialist named: anything ambiguous or unknown is denied.
  if (found.size === 1) {
    const [route] = found
    if (route !== undefined && (SPECIALISTS as ReadonlyArray<string>).includes(route)) return { ok: true, route }
  }
  return { ok: false, reason: "invalid_token" }
}
