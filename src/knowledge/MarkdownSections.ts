// Splits a Markdown document into sections at every heading level (ATX `#`..`######` and
// setext underlines), each with its heading path; headings inside fenced code are text.

export interface MarkdownSection {
  /** The headings above and including this section's own, outermost first; empty for a preamble. */
  readonly headingPath: ReadonlyArray<string>
  /** 1-6, or 0 for text before the first heading. */
  readonly level: number
  /** The text under the heading, up to the next heading (of any level). */
  readonly body: string
}

export interface MarkdownOutline {
  readonly sections: ReadonlyArray<MarkdownSection>
  /** The document's title: its only level-1 heading, when that heading comes before every other. */
  readonly title: string | undefined
  /** Problems a writer should fix (an unclosed code fence swallows every heading after it). */
  readonly warnings: ReadonlyArray<string>
}

const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/
const FENCE = /^ {0,3}(`{3,}|~{3,})/
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/

/** Heading text as a reader sees it: inline code marks and emphasis dropped, spaces collapsed. */
const cleanHeading = (text: string): string =>
  text
    .replace(/`([^`]*)`/g, "$1")
    .replace(/(\*\*|__)(.*?)\1/g, "$2")
    .replace(/\s+/g, " ")
    .trim()

const isParagraphLine = (line: string) =>
  line.trim() !== "" &&
  !FENCE.test(line) &&
  !ATX.test(line) &&
  !/^ {0,3}([-*+]|\d+[.)])\s/.test(line) &&
  !/^\s*\|/.test(line)

export const splitMarkdown = (markdown: string): MarkdownOutline => {
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n")
  const sections: Array<MarkdownSection> = []
  const warnings: Array<string> = []
  const stack: Array<{ level: number; text: string }> = []
  let level = 0
  let body: Array<string> = []
  let fence: { char: string; length: number; line: number } | undefined
  const headings: Array<{ level: number; text: string }> = []

  const flush = () => {
    sections.push({ headingPath: stack.map((h) => h.text), level, body: body.join("\n") })
    body = []
  }
  const open = (headingLevel: number, text: string) => {
    flush()
    while (stack.length > 0 && stack[stack.length - 1]!.level >= headingLevel) stack.pop()
    stack.push({ level: headingLevel, text: cleanHeading(text) })
    headings.push(stack[stack.length - 1]!)
    level = headingLevel
  }

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const fenceMatch = FENCE.exec(line)
    if (fence !== undefined) {
      body.push(line)
      if (fenceMatch !== null && fenceMatch[1]![0] === fence.char && fenceMatch[1]!.length >= fence.length) {
        if (line.trim().slice(fenceMatch[1]!.length).trim() === "") fence = undefined
      }
      continue
    }
    if (fenceMatch !== null) {
      fence = { char: fenceMatch[1]![0]!, length: fenceMatch[1]!.length, line: i + 1 }
      body.push(line)
      continue
    }
    const atx = ATX.exec(line)
    if (atx !== null) {
      open(atx[1]!.length, atx[2] ?? "")
      continue
    }
    const next = lines[i + 1]
    if (next !== undefined && isParagraphLine(line) && SETEXT.test(next) && (i === 0 || lines[i - 1]!.trim() === "")) {
      open(next.trim().startsWith("=") ? 1 : 2, line)
      i++
      continue
    }
    body.push(line)
  }
  if (fence !== undefined) warnings.push(`code fence opened on line ${fence.line} is never closed`)
  flush()
  // The preamble is dropped when empty; so is any heading with no text of its own (its
  // children carry its name in their paths).
  const title =
    headings[0]?.level === 1 && headings.filter((h) => h.level === 1).length === 1 ? headings[0].text : undefined
  return { sections: sections.filter((s) => s.body.trim() !== ""), title, warnings }
}
