// A JSONL writer on a fresh temp file that counts what it drops, for the writer's own tests.
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { makeJsonlWriter } from "../../src/observability/JsonlWriter.js"

/** The writer (closed with the test's scope), its file, and how many lines it has dropped so far. */
export const tempJsonlWriter = (queueSize: number) =>
  Effect.gen(function* () {
    const path = join(mkdtempSync(join(tmpdir(), "jsonl-writer-")), "w.jsonl")
    let dropped = 0
    const writer = yield* makeJsonlWriter({
      path,
      queueSize,
      maxFileBytes: 1024 ** 3,
      maxFiles: 2,
      onDrop: (n) => {
        dropped += n
      }
    })
    return { path, writer, dropped: () => dropped }
  })
