// The citation guardrail: enough citations, all in range, each supported by the sentence citing it.
import { describe, expect, it } from "@effect/vitest"
import { checkCitations, citedSentences, parseCitations } from "../../src/knowledge/Citations.js"
import type { Passage } from "../../src/knowledge/Passage.js"

const passage = (n: number, section: string, text: string): Passage => ({
  id: `doc.md#${n}`,
  source: "doc.md",
  section,
  chunkIndex: n,
  text,
  score: 1
})

const passages = [
  passage(
    0,
    "IP groups > Why an IP group alone blocks nothing",
    "An IP group is only data. A deny policy that references the group blocks its members."
  ),
  passage(
    1,
    "Protection modes > What dry_run mode does",
    "In dry_run a module records attacks but lets the requests through."
  )
]

describe("parseCitations and citedSentences", () => {
  it("reads [n], [n, m] and markers after the full stop, but not brackets in code", () => {
    const draft = [
      "An IP group blocks nothing by itself [1].",
      "A module in dry_run lets attacks through. [2]",
      "Both matter [1, 2].",
      'Send `{"ip_group_ids": [7]}` to append.',
      "```",
      '{"ips": [3]}',
      "```",
      "[1]"
    ].join("\n")
    expect(parseCitations(draft)).toEqual([1, 2])
    expect(citedSentences(draft).map((s) => s.citations)).toEqual([[1], [2], [1, 2], [], [1]])
    expect(citedSentences(draft)[1]!.text).toBe("A module in dry_run lets attacks through.")
  })
})

describe("checkCitations", () => {
  it("passes a draft whose cited passages support their sentences", () => {
    const check = checkCitations("A deny policy must reference the IP group to block its members [1].", passages, 1)
    expect(check).toMatchObject({ ok: true, verdict: "grounded", citations: [1] })
  })

  it("denies too few citations, out-of-range citations and unsupported ones, in that order", () => {
    expect(checkCitations("An IP group blocks nothing by itself.", passages, 1).verdict).toBe("missing_citations")
    expect(checkCitations("A deny policy blocks the group [1]. It also does more [3].", passages, 1)).toMatchObject({
      verdict: "citation_out_of_range",
      outOfRange: [3]
    })
    const unsupported = checkCitations("The API token must be rotated every ninety days [2].", passages, 1)
    expect(unsupported).toMatchObject({ ok: false, verdict: "unsupported_citation" })
    expect(unsupported.unsupported).toEqual([
      { sentence: "The API token must be rotated every ninety days.", citation: 2 }
    ])
  })

  it("checks each cited passage against its own sentence", () => {
    const mixed = "In dry_run a module lets requests through [2]. A deny policy blocks the group's members [2]."
    expect(checkCitations(mixed, passages, 1).unsupported.map((u) => u.sentence)).toEqual([
      "A deny policy blocks the group's members."
    ])
  })

  it("with a minimum of 0, a draft without citations passes", () => {
    expect(checkCitations("Nothing to cite here.", passages, 0).ok).toBe(true)
  })
})
