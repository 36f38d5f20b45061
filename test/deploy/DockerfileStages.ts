// Reading deploy/Dockerfile in tests (there is no Docker engine on CI machines): its stages,
// what each copies, and the runtime stage's environment, user and entry point.
import { readFileSync } from "node:fs"
import { repoPath } from "../support/tools.js"

export const DOCKERFILE = repoPath("deploy", "Dockerfile")
export const DOCKERIGNORE = repoPath("deploy", "Dockerfile.dockerignore")

export interface Instruction {
  readonly op: string
  readonly args: string
}

export interface Copy {
  /** The stage copied from, or undefined for the build context. */
  readonly from: string | undefined
  readonly sources: ReadonlyArray<string>
  readonly destination: string
}

export interface Stage {
  readonly name: string | undefined
  readonly image: string
  readonly instructions: ReadonlyArray<Instruction>
}

/** Instructions with line continuations joined and comments dropped. */
const instructionsOf = (text: string): Array<Instruction> => {
  const logical: Array<string> = []
  let current = ""
  for (const raw of text.split("\n")) {
    const line = raw.trim()
    if (current === "" && (line === "" || line.startsWith("#"))) continue
    if (line.startsWith("#")) continue
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1)} `
      continue
    }
    logical.push(current + line)
    current = ""
  }
  if (current !== "") logical.push(current)
  return logical.map((l) => {
    const space = l.search(/\s/)
    return { op: l.slice(0, space).toUpperCase(), args: l.slice(space + 1).trim() }
  })
}

export const parseDockerfile = (text = readFileSync(DOCKERFILE, "utf8")): Array<Stage> => {
  const globalArgs = new Map<string, string>()
  const stages: Array<{ name: string | undefined; image: string; instructions: Array<Instruction> }> = []
  for (const instruction of instructionsOf(text)) {
    if (instruction.op === "FROM") {
      const [image, as, name] = instruction.args.split(/\s+/)
      const resolved = image!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => globalArgs.get(a ?? b) ?? "")
      stages.push({ name: as?.toUpperCase() === "AS" ? name : undefined, image: resolved, instructions: [] })
    } else if (stages.length === 0 && instruction.op === "ARG") {
      const [key, value] = instruction.args.split("=", 2)
      globalArgs.set(key!, value ?? "")
    } else {
      stages.at(-1)?.instructions.push(instruction)
    }
  }
  return stages
}

/** JSON-array (exec form) arguments, or the shell form split on spaces. */
export const execForm = (args: string): Array<string> =>
  args.startsWith("[") ? (JSON.parse(args) as Array<string>) : args.split(/\s+/)

export const copiesOf = (stage: Stage): Array<Copy> =>
  stage.instructions
    .filter((i) => i.op === "COPY" || i.op === "ADD")
    .map((i) => {
      const words = i.args.split(/\s+/)
      const flags = words.filter((w) => w.startsWith("--"))
      const paths = words.filter((w) => !w.startsWith("--"))
      const from = flags.find((f) => f.startsWith("--from="))?.slice("--from=".length)
      return { from, sources: paths.slice(0, -1), destination: paths.at(-1)! }
    })

/** `ENV` of a stage, both `K=V K2=V2` and the legacy `K V` form. */
export const envOf = (stage: Stage): Map<string, string> => {
  const env = new Map<string, string>()
  for (const i of stage.instructions.filter((x) => x.op === "ENV")) {
    if (!i.args.includes("=")) {
      const [key, ...rest] = i.args.split(/\s+/)
      env.set(key!, rest.join(" "))
      continue
    }
    for (const match of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      env.set(match[1]!, match[2]!.startsWith('"') ? JSON.parse(match[2]!) : match[2]!)
    }
  }
  return env
}

export const last = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op).at(-1)

/** Paths the runtime stage declares as volumes. */
export const volumesOf = (stage: Stage): Array<string> =>
  stage.instructions.filter((i) => i.op === "VOLUME").flatMap((i) => execForm(i.args))

/** The top-level repository paths the final stage takes, from the context or built in a stage. */
export const runtimeTopLevelPaths = (stages: ReadonlyArray<Stage>): Set<string> => {
  const runtime = stages.at(-1)!
  const paths = new Set<string>()
  for (const copy of copiesOf(runtime)) {
    for (const source of copy.sources) {
      const top = source
        .replace(/^\/app\//, "")
        .replace(/^\.\//, "")
        .split("/")[0]!
      paths.add(top)
    }
  }
  return paths
}
