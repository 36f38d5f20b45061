// Reads a request body as UTF-8 text with a hard size limit, whatever the Content-Type:
// a declared Content-Length over the limit is refused before reading; a chunked body is
// counted as it streams and drained (not stored) once over, so the client still gets a 413.
import { HttpServerRequest } from "@effect/platform"
import { Data, Effect, Stream } from "effect"

export class BodyTooLarge extends Data.TaggedError("BodyTooLarge")<{ readonly limit: number }> {}
export class BodyUnreadable extends Data.TaggedError("BodyUnreadable")<{ readonly detail: string }> {}

export const readBodyText = (limit: number) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const declared = request.headers["content-length"]
    if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limit) {
      return yield* Effect.fail(new BodyTooLarge({ limit }))
    }
    const { chunks, size } = yield* Stream.runFold(
      request.stream,
      { chunks: [] as Array<Uint8Array>, size: 0 },
      (acc, chunk) => {
        acc.size += chunk.byteLength
        if (acc.size <= limit) acc.chunks.push(chunk)
        return acc
      }
    ).pipe(
      Effect.mapError((error) => new BodyUnreadable({ detail: `the request body could not be read (${error._tag})` }))
    )
    if (size > limit) return yield* Effect.fail(new BodyTooLarge({ limit }))
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks))
    } catch {
      return yield* Effect.fail(new BodyUnreadable({ detail: "the request body is not valid UTF-8" }))
    }
  })
