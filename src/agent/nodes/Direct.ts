// direct: greetings, thanks and "what can you do" — answered without any tool.
import { Effect } from "effect"
import type { TurnState, TurnUpdate } from "../GraphState.js"
import { instrumentNode } from "../NodeRunner.js"

const CAPABILITIES = [
  '- traffic and QPS right now, and the protection mode ("what is my traffic?")',
  '- attack events: who, what, blocked vs passed ("show recent attacks")',
  '- protection mode and IP blacklist changes, each confirmed with a code ("switch to block mode", "ban 203.0.113.7")',
  '- CVE / CWE / OWASP context for what you see ("what is CWE-89?")',
  '- false-positive tuning with a precise allow rule ("legit requests to /api/search are blocked")',
  '- incident reports ("write an incident report")',
  '- answers from the SafeLine and incident-response docs, with citations ("how do I configure rate limiting?")'
].join("\n")

const replyTo = (message: string): string => {
  const text = message.trim().toLowerCase()
  if (/^(thanks|thank you|thx|cheers|great|nice|cool|ok|okay)\b/.test(text))
    return "You're welcome. Anything else about the WAF?"
  if (/^(bye|goodbye|good night|see you)\b/.test(text)) return "Goodbye. The WAF keeps watching."
  const greeting = /^(hi|hello|hey|yo|good (morning|afternoon|evening))\b/.test(text) ? "Hello! " : ""
  return `${greeting}I'm security-agent: a team of specialists that operates your SafeLine WAF. I can help with:\n${CAPABILITIES}`
}

export const directNode = (state: TurnState) =>
  instrumentNode("direct", Effect.succeed<TurnUpdate>({ reply: replyTo(state.message), sources: [], failed: false }))
