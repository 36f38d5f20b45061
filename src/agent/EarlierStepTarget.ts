// "Who attacked us most? ban the worst one": a change's target may come from an earlier step of
// the same turn, but only from a structured field (the top source IP of an events summary), never
// from free text a tool returned, and the confirmation prompt says where it came from.
import { isIP } from "node:net"
import type { AttackSummary } from "../tools/SafeLineTools.js"
import { formatNumber } from "./Compose.js"
import { addressToken } from "./ConfigIntent.js"
import type { StepFacts, StepResult } from "./GraphState.js"

/** The facts an events summary offers a later step: its top source, and over what. */
export const topSourceFact = (summary: AttackSummary, windowLabel: string | undefined): StepFacts => {
  const top = summary.topSourceIps[0]
  if (top === undefined || isIP(top.ip) === 0) return {}
  const over =
    windowLabel === undefined
      ? `among the newest ${formatNumber(summary.events.length)} attack events`
      : windowLabel.startsWith("the last")
        ? `in ${windowLabel}`
        : windowLabel
  return { topSource: { ip: top.ip, description: `the top source ${over}` } }
}

/** Words that point back at an earlier step's source instead of naming an address. */
const REFERENCE =
  /\b(?:the\s+)?(?:worst|top|biggest|main|most\s+active|noisiest|first)\s+(?:one|offender|attacker|source(?:\s+ip)?|ip|address|culprit)\b|\bthe\s+(?:worst|top)\s+one\b|\bthat\s+(?:ip|address|source|attacker)\b|\b(?:ban|block|blacklist)\s+(?:it|them|him|her)\b(?!\s+all\b)/i

/** "ban the worst one", "block them": a change that names its target only by pointing back. */
export const refersToEarlierTarget = (request: string): boolean =>
  // An address already written in the request (as the intent parser finds it): the operator's own words win.
  addressToken(request) === undefined && REFERENCE.test(request) && /\b(?:ban|block|blacklist|deny)\b/i.test(request)

export interface EarlierTarget {
  /** The request with the reference replaced by the address ("ban 203.0.113.7 for 24 h"). */
  readonly request: string
  readonly ip: string
  /** "the top source in the last hour: 203.0.113.7". */
  readonly provenance: string
}

/**
 * The request a change step acts on when it refers to an earlier step's top source; undefined when
 * it names its own address, refers to nothing, or no earlier step found a source.
 */
export const targetFromEarlierStep = (
  request: string,
  results: ReadonlyArray<StepResult>
): EarlierTarget | undefined => {
  // Only a ban points back: "unblock the top one" must never unban the worst attacker.
  if (!refersToEarlierTarget(request)) return undefined
  const reference = request.match(REFERENCE)
  if (reference === null) return undefined
  const found = [...results].reverse().find((r) => r.facts.topSource !== undefined)?.facts.topSource
  if (found === undefined) return undefined
  const rewritten = request.replace(
    reference[0],
    /^(?:ban|block|blacklist)\s/i.test(reference[0]) ? `${reference[0].split(/\s+/)[0]} ${found.ip}` : found.ip
  )
  return { request: rewritten, ip: found.ip, provenance: `${found.description}: ${found.ip}` }
}
