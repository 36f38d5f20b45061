// The rule-based planner's first half: where an operator's message asks for more than one thing.
// It splits on sentence ends, on sequence words ("then", "after that") and on "and" followed by
// a new request verb ("… and ban the worst one"), never inside an address, a number or a list
// of nouns ("SQL injection and XSS attacks" stays one clause).

/** Verbs that start a new request after "and" (the imperatives operators chain). */
const REQUEST_VERBS = [
  "ban",
  "block",
  "blacklist",
  "unblock",
  "unban",
  "switch",
  "set",
  "turn",
  "put",
  "change",
  "restore",
  "revert",
  "tell",
  "show",
  "give",
  "list",
  "write",
  "create",
  "generate",
  "draft",
  "produce",
  "prepare",
  "explain",
  "check",
  "summarize",
  "summarise",
  "report",
  "find",
  "analyze",
  "analyse",
  "compare",
  "describe",
  "look"
]

const VERB = `(?:${REQUEST_VERBS.join("|")})\\b`

/**
 * Boundaries, each consumed, over text whose whitespace is already single spaces (so no
 * alternative can backtrack over long runs of blanks): a sentence end followed by more text;
 * "; "; ", then" / "and then" / "then" / "after that" / "afterwards" before a new request; "and"
 * (with or without a comma) or a comma before a request verb. Sentence ends need a space after
 * them, so "203.0.113.7" never splits.
 */
const BOUNDARY = new RegExp(
  [
    String.raw`(?<=[?!.]) (?=\S)`,
    `[,;]? (?:and )?(?:then|after that|afterwards),? `,
    ` ?; ?`,
    `,? and (?=(?:please )?(?:also )?${VERB})`,
    `, (?=(?:please )?(?:also )?${VERB})`
  ].join("|"),
  "gi"
)

/** Words that join requests but are not one: stripped from the start of a part. */
const LEADING_CONNECTORS = /^(?:(?:and|also|please|then|so)\b[ ,]*)+/i

/** Longest message the planner splits: beyond it the message is one request (it is bounded upstream too). */
const MAX_SPLIT_CHARS = 2000

/** At most this many clauses (the last keeps the rest); the plan is bounded again by AGENT_MAX_HOPS. */
const MAX_CLAUSES = 8

/** The message's clauses, in order, trimmed; one clause (the message as written) when it asks for one thing. */
export const splitClauses = (message: string): ReadonlyArray<string> => {
  const text = message.trim()
  if (text.length === 0 || text.length > MAX_SPLIT_CHARS) return [text]
  const clauses = text
    .replace(/\s+/g, " ")
    .split(BOUNDARY)
    .map((c) => c.trim().replace(LEADING_CONNECTORS, "").trim())
    // A clause needs a word of its own: "ok." or "!" is not a request.
    .filter((c) => /[A-Za-z]{2,}/.test(c))
  if (clauses.length <= 1) return [text]
  return clauses.length <= MAX_CLAUSES
    ? clauses
    : [...clauses.slice(0, MAX_CLAUSES - 1), clauses.slice(MAX_CLAUSES - 1).join(" ")]
}
