// Reads a request body as UTF-8 text with a hard size limit, whatever the Content-Type:
// a declared Content-Length over the limit is refused before reading; a chunked body is
// counted as it streams and drained (not stored) once over, so the client still gets a 413;
// a sender slower than the timeout gets a 408 instead of holding the connection for minutes.
// Read from Node's IncomingMessage directly: interrupting Effect's body stream destroys the
// socket, and the client would get no 408 at all.
import { HttpServerRequest } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Data, Effect } from "effect"

export class BodyTooLarge extends Data.TaggedError("BodyTooLarge")<{ readonly limit: number }> {}
export class BodyUnreadable extends Data.TaggedError("BodyUnreadable")<{ readonly detail: string }> {}
export class BodyTimeout extends Data.TaggedError("BodyTimeout")<{ readonly seconds: number }> {}

/** Strict UTF-8; one decoder for every body (a whole-buffer decode keeps no state between calls). */
const UTF8 = new TextDecoder("utf-8", { fatal: true })

export const readBodyText = (limit: number, timeoutSeconds: number) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const declared = request.headers["content-length"]
    if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limit) {
      return yield* Effect.fail(new BodyTooLarge({ limit }))
    }
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    const bytes = yield* Effect.async<Buffer, BodyTooLarge | BodyUnreadable | BodyTimeout>((resume) => {
      const chunks: Array<Buffer> = []
      let size = 0
      const stop = () => {
        clearTimeout(timer)
        incoming.off("data", onData).off("end", onEnd).off("error", onError).off("aborted", onAborted)
      }
      const onData = (chunk: Buffer) => {
        size += chunk.byteLength
        if (size <= limit) chunks.push(chunk)
      }
      const onEnd = () => {
        stop()
        resume(size > limit ? Effect.fail(new BodyTooLarge({ limit })) : Effect.succeed(Buffer.concat(chunks)))
      }
      const onError = (error: Error) => {
        stop()
        resume(Effect.fail(new BodyUnreadable({ detail: `the request body could not be read (${error.message})` })))
      }
      const onAborted = () => onError(new Error("the client aborted"))
      const timer = setTimeout(() => {
        stop()
        // Keep draining (and discarding) so the 408 can be written before the connection closes.
        incoming.resume()
        resume(Effect.fail(new BodyTimeout({ seconds: timeoutSeconds })))
      }, timeoutSeconds * 1000)
      incoming.on("data", onData).on("end", onEnd).on("error", onError).on("aborted", onAborted)
      return Effect.sync(stop)
    })
    try {
      return UTF8.decode(bytes)
    } catch {
      return yield* Effect.fail(new BodyUnreadable({ detail: "the request body is not valid UTF-8" }))
    }
  })
