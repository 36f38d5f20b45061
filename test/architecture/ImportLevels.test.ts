// Imports in src/ run one way: a folder may import its own level and the levels below, never a
// folder above it (docs/architecture.md). Read from the source text, so a type-only import counts.
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { describe, expect, it } from "vitest"
import { repoPath } from "../support/tools.js"

const LEVELS: Readonly<Record<string, number>> = {
  domain: 0,
  config: 1,
  observability: 1,
  safeline: 1,
  knowledge: 1,
  sessions: 1,
  simulator: 2,
  tools: 2,
  reasoning: 2,
  agent: 3,
  app: 4,
  http: 5,
  cli: 5,
  eval: 5,
  /** The CLI entry, the top of everything. */
  "main.ts": 6
}

const SRC = repoPath("src")

const sourceFiles = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    return statSync(path).isDirectory() ? sourceFiles(path) : /\.tsx?$/.test(entry) ? [path] : []
  })

/** The folder under src/ a file belongs to (or `main.ts`, the one file allowed at the top). */
const unitOf = (path: string) => relative(SRC, path).split("/")[0]!

/** Every relative module a file imports or re-exports (static, type-only or dynamic). */
const importsOf = (text: string): Array<string> =>
  [
    ...text.matchAll(/^\s*(?:import|export)\b[^"'`;]*?\bfrom\s*["']([^"']+)["']/gm),
    ...text.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
    ...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)
  ]
    .map((m) => m[1]!)
    .filter((specifier) => specifier.startsWith("."))

interface Violation {
  readonly file: string
  readonly imports: string
  readonly fromLevel: number
  readonly toLevel: number
}

/** The imports that climb: from `file`'s folder to a folder of a higher level. */
const violationsIn = (files: ReadonlyArray<string>, read: (file: string) => string): Array<Violation> =>
  files.flatMap((file) => {
    const fromLevel = LEVELS[unitOf(file)]!
    return importsOf(read(file)).flatMap((specifier) => {
      const target = resolve(dirname(file), specifier)
      const toLevel = LEVELS[unitOf(target)]
      return toLevel === undefined || toLevel > fromLevel
        ? [{ file: relative(SRC, file), imports: relative(SRC, target), fromLevel, toLevel: toLevel ?? Number.NaN }]
        : []
    })
  })

describe("import levels", () => {
  const files = sourceFiles(SRC)
  const read = (file: string) => readFileSync(file, "utf8")

  it("places every file of src/ in a folder of the table", () => {
    expect(files.length).toBeGreaterThan(50)
    expect(files.map((f) => relative(SRC, f)).filter((f) => LEVELS[unitOf(join(SRC, f))] === undefined)).toEqual([])
  })

  it("finds every kind of import, so that none slips through", () => {
    const text = [
      'import { A } from "../agent/Graph.js"',
      'import type { B } from "../app/AppLayer.js"',
      "export { C } from '../http/Api.js'",
      'export type * from "./Local.js"',
      'import {\n  D,\n  E\n} from "../cli/TraceCommand.js"',
      'import "../eval/EvalRouting.js"',
      'const lazy = () => import("../tools/SafeLineTools.js")',
      'import { Effect } from "effect"'
    ].join("\n")
    expect(importsOf(text)).toEqual([
      "../agent/Graph.js",
      "../app/AppLayer.js",
      "../http/Api.js",
      "./Local.js",
      "../cli/TraceCommand.js",
      "../eval/EvalRouting.js",
      "../tools/SafeLineTools.js"
    ])
    const climbing = violationsIn([join(SRC, "tools", "Example.ts")], () => text)
    expect(climbing.map((v) => v.imports)).toEqual([
      "agent/Graph.js",
      "app/AppLayer.js",
      "http/Api.js",
      "cli/TraceCommand.js",
      "eval/EvalRouting.js"
    ])
  })

  it("has no import from a folder to a folder of a higher level", () => {
    expect(violationsIn(files, read)).toEqual([])
  })

  it("ties no two folders both ways (the simulator and the tools both import safeline/, not each other)", () => {
    const edges = new Set<string>()
    for (const file of files) {
      for (const specifier of importsOf(read(file))) {
        const from = unitOf(file)
        const to = unitOf(resolve(dirname(file), specifier))
        if (from !== to) edges.add(`${from} -> ${to}`)
      }
    }
    const ties = [...edges].filter((edge) => {
      const [from, to] = edge.split(" -> ")
      return edges.has(`${to} -> ${from}`)
    })
    expect(ties).toEqual([])
  })
})
