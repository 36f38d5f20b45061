// Removes prompt-injection text from documents before any of it can reach a model: lines that
// address the model ("ignore previous instructions", "you are now", "system:"), chat-template
// tokens and fake role tags, hidden HTML comments and invisible characters. Every removal is
// counted, so an operator can see that a document carried something.

export type RemovalKind =
  | "instruction_override"
  | "role_marker"
  | "template_token"
  | "hidden_comment"
  | "invisible_text"

export interface Removal {
  readonly kind: RemovalKind
  /** The start of what was removed, for an operator's report (never sent to a model). */
  readonly excerpt: string
}

export interface SanitizedText {
  readonly text: string
  readonly removals: ReadonlyArray<Removal>
}

/** Lines that talk to the model instead of the reader; matched case-insensitively, anywhere in the line. */
const LINE_PATTERNS: ReadonlyArray<readonly [RemovalKind, RegExp]> = [
  [
    "instruction_override",
    /\b(ignore|disregard|forget|override|bypass|skip)\b[^\n]{0,40}?\b(previous|prior|above|earlier|preceding|all|any|your|the|these|system|safety)\b[^\n]{0,40}?\b(instructions?|prompts?|rules|directions|guidelines|guardrails|messages?)\b/i
  ],
  ["instruction_override", /\byou\s+are\s+now\b/i],
  ["instruction_override", /\bfrom\s+now\s+on,?\s+(you|the\s+(assistant|agent|model))\b/i],
  ["instruction_override", /\b(pretend|imagine)\s+(to\s+be|you\s+are|that\s+you)\b/i],
  ["instruction_override", /\bact\s+as\s+(an?\s+)?(unrestricted|unfiltered|jailbroken|dan|different|new|evil)\b/i],
  ["instruction_override", /\bnew\s+(system\s+)?instructions?\s*:/i],
  [
    "instruction_override",
    /\b(reveal|print|show|repeat|output|leak)\b[^\n]{0,30}\b(system\s+prompt|hidden\s+instructions|initial\s+instructions|your\s+instructions)\b/i
  ],
  ["instruction_override", /\bsystem\s+prompt\b/i],
  ["instruction_override", /\b(jailbreak|developer\s+mode|do\s+anything\s+now)\b/i],
  // "System: ..." at the start of a line (also quoted, bulleted or emphasised).
  ["role_marker", /^\s*(?:[>*_~`#|-]+\s*)*(system|assistant|developer)\s*\**\s*:/i],
  // "###instruction", "### System:", "### Response" as a whole line: prompt-format headers, not sections.
  ["role_marker", /^\s*#{1,6}\s*(instructions?|system|response|assistant|input|user)\s*:?\s*$/i],
  ["role_marker", /<\/?\s*(system|assistant|user|developer|tool|instructions?|im_start|im_end)\s*>/i],
  ["template_token", /<\|[\w\s-]{0,30}\|>/],
  ["template_token", /\[\/?INST\]|<<\/?SYS>>/],
  ["template_token", /\b(BEGIN|END)[\s_]+(SYSTEM|INSTRUCTIONS?)\b/]
]

/** An unclosed comment hides the rest of the document from a reader, so it goes too. */
const HTML_COMMENT = /<!--[\s\S]*?(?:-->|$)/g
/** Zero-width, bidirectional-override and Unicode tag characters: text a reader cannot see. */
const INVISIBLE = /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF\u{E0000}-\u{E007F}]+/gu

const excerptOf = (text: string) => text.trim().replace(/\s+/g, " ").slice(0, 80)

export const sanitizeText = (input: string): SanitizedText => {
  const removals: Array<Removal> = []
  const withoutComments = input.replace(HTML_COMMENT, (comment) => {
    removals.push({ kind: "hidden_comment", excerpt: excerptOf(comment) })
    return ""
  })
  const visible = withoutComments.replace(INVISIBLE, (run) => {
    removals.push({ kind: "invisible_text", excerpt: `${run.length} invisible character(s)` })
    return ""
  })
  const kept: Array<string> = []
  for (const line of visible.split("\n")) {
    const hit = LINE_PATTERNS.find(([, pattern]) => pattern.test(line))
    if (hit === undefined) kept.push(line)
    else removals.push({ kind: hit[0], excerpt: excerptOf(line) })
  }
  return { text: kept.join("\n"), removals }
}
