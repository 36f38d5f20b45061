// Properties of the chunker and the Markdown splitter, over arbitrary input (fast-check).
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { boundarySlack, chunkText, windowText } from "../../src/knowledge/Chunker.js"
import { ingestDocuments } from "../../src/knowledge/Ingestion.js"
import { splitMarkdown } from "../../src/knowledge/MarkdownSections.js"

/** Text with plenty of the boundaries the chunker looks for, and long runs without any. */
const text = fc.oneof(
  fc.string({ maxLength: 3000 }),
  fc.string({ unit: fc.constantFrom("a", "b", " ", "\n", ".", "\n\n", "é", "🙂", "\t"), maxLength: 3000 }),
  fc.string({ unit: fc.constantFrom("x"), maxLength: 2000 })
)
const sizes = fc
  .integer({ min: 1, max: 400 })
  .chain((maxChars) =>
    fc.record({ maxChars: fc.constant(maxChars), overlapChars: fc.integer({ min: 0, max: maxChars + 50 }) })
  )

describe("windowText", () => {
  it("terminates on any input, with windows that fit, cover the text and overlap as configured", () => {
    fc.assert(
      fc.property(text, sizes, (input, options) => {
        const windows = windowText(input, options)
        const overlap = Math.min(options.overlapChars, options.maxChars - 1)
        if (input.length === 0) return windows.length === 0
        // Termination: every step starts strictly later, so there are at most length windows.
        expect(windows.length).toBeLessThanOrEqual(input.length)
        expect(windows[0]!.start).toBe(0)
        expect(windows[windows.length - 1]!.end).toBe(input.length)
        for (const [i, w] of windows.entries()) {
          expect(w.end - w.start).toBeGreaterThan(0)
          expect(w.end - w.start).toBeLessThanOrEqual(options.maxChars)
          const next = windows[i + 1]
          if (next === undefined) continue
          expect(next.start).toBeGreaterThan(w.start)
          // No gap, and the configured overlap (a window may start up to a few characters
          // earlier, to begin on a word).
          expect(w.end - next.start).toBeGreaterThanOrEqual(overlap)
          expect(w.end - next.start).toBeLessThanOrEqual(overlap + boundarySlack(overlap))
        }
        return true
      }),
      { numRuns: 400 }
    )
  })

  it("rebuilds the text exactly from its windows", () => {
    fc.assert(
      fc.property(text, sizes, (input, options) => {
        const windows = windowText(input, options)
        const rebuilt = windows.map((w, i) => input.slice(i === 0 ? w.start : windows[i - 1]!.end, w.end)).join("")
        expect(rebuilt).toBe(input)
      })
    )
  })

  it("cuts at paragraph, line or sentence ends when it can", () => {
    const paragraph = "The first sentence is here. The second one follows it. "
    const windows = windowText(paragraph.repeat(20), { maxChars: 120, overlapChars: 20 })
    for (const w of windows.slice(0, -1)) expect(paragraph.repeat(20).slice(0, w.end)).toMatch(/[.] $/)
  })

  it("drops whitespace-only chunks and trims the rest", () => {
    fc.assert(
      fc.property(text, sizes, (input, options) => {
        for (const c of chunkText(input, options)) {
          expect(c.text).toBe(c.text.trim())
          expect(c.text).not.toBe("")
          expect(c.text.length).toBeLessThanOrEqual(options.maxChars)
        }
      })
    )
  })
})

/** A random outline: headings of levels 1-6 with words, each with a body of plain lines. */
const outline = fc.array(
  fc.record({
    level: fc.integer({ min: 1, max: 6 }),
    title: fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ]{0,20}[A-Za-z0-9]$/),
    body: fc.array(fc.stringMatching(/^[a-z][a-z .,]{0,60}$/), { maxLength: 4 })
  }),
  { maxLength: 12 }
)

const expectedPaths = (items: ReadonlyArray<{ level: number; title: string; body: ReadonlyArray<string> }>) => {
  const stack: Array<{ level: number; title: string }> = []
  const paths: Array<Array<string>> = []
  for (const item of items) {
    while (stack.length > 0 && stack[stack.length - 1]!.level >= item.level) stack.pop()
    stack.push(item)
    if (item.body.join("").trim() !== "") paths.push(stack.map((h) => h.title.replace(/\s+/g, " ").trim()))
  }
  return paths
}

describe("splitMarkdown", () => {
  it("gives every section the path of headings above it, at every level", () => {
    fc.assert(
      fc.property(outline, (items) => {
        const markdown = items.map((i) => `${"#".repeat(i.level)} ${i.title}\n\n${i.body.join("\n")}\n`).join("\n")
        const sections = splitMarkdown(markdown).sections
        expect(sections.map((s) => [...s.headingPath])).toEqual(expectedPaths(items))
      })
    )
  })

  it("does not split inside fenced code, reads setext headings and keeps a preamble", () => {
    const outlineOf = splitMarkdown(
      [
        "Intro text before any heading.",
        "",
        "Guide",
        "=====",
        "",
        "About the guide.",
        "",
        "## Install",
        "```sh",
        "# not a heading, a shell comment",
        "make install",
        "```",
        "",
        "Usage",
        "-----",
        "Run it."
      ].join("\n")
    )
    expect(outlineOf.sections.map((s) => s.headingPath.join(" > "))).toEqual([
      "",
      "Guide",
      "Guide > Install",
      "Guide > Usage"
    ])
    expect(outlineOf.sections[2]!.body).toContain("# not a heading")
    expect(outlineOf.title).toBe("Guide")
    expect(outlineOf.warnings).toEqual([])
    expect(splitMarkdown("# T\n```\nnever closed").warnings).toEqual(["code fence opened on line 2 is never closed"])
  })
})

describe("ingestDocuments", () => {
  it("keeps source, section and a per-document chunk_index on every chunk, each within the size limit", () => {
    fc.assert(
      fc.property(
        fc.array(outline, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 20, max: 300 }),
        (docs, maxChars) => {
          const documents = docs.map((items, i) => ({
            source: `doc-${i}.md`,
            text: items.map((h) => `${"#".repeat(h.level)} ${h.title}\n${h.body.join("\n")}`).join("\n")
          }))
          const corpus = ingestDocuments(documents, { maxChars, overlapChars: Math.floor(maxChars / 5) })
          expect(new Set(corpus.chunks.map((c) => c.id)).size).toBe(corpus.chunks.length)
          for (const doc of documents) {
            const own = corpus.chunks.filter((c) => c.source === doc.source)
            expect(own.map((c) => c.chunkIndex)).toEqual(own.map((_, i) => i))
            for (const c of own) {
              expect(c.id).toBe(`${doc.source}#${c.chunkIndex}`)
              expect(c.text.length).toBeLessThanOrEqual(maxChars)
              expect(c.section).not.toBe("")
              expect(c.headingPath.join(" > ")).toContain(c.section)
            }
          }
        }
      )
    )
  })

  it("names sections by heading path without the document title", () => {
    const corpus = ingestDocuments([
      { source: "guide.md", text: "# The Guide\n\nWelcome.\n\n## IP groups\n\n### Blacklisting\n\nAdd the address." }
    ])
    expect(corpus.chunks.map((c) => [c.section, c.chunkIndex, c.text])).toEqual([
      ["The Guide", 0, "Welcome."],
      ["IP groups > Blacklisting", 1, "Add the address."]
    ])
  })
})
