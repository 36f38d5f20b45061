// Reading what the service wrote as JSON Lines (trace events, audit records, WAF change records).
import { existsSync, readFileSync } from "node:fs"

/** Every record of a JSONL file, parsed (every non-blank line must parse); none while the file does not exist. */
export const readJsonl = <A = any>(path: string): Array<A> =>
  existsSync(path)
    ? readFileSync(path, "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as A)
    : []
