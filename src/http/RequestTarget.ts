// The request target as the route table sees it: exactly one spelling per route. Anything a
// router or a proxy might read two ways (duplicate slashes, dot segments, percent-encoding other
// than an escaped ":", backslashes, absolute-form, control or non-ASCII bytes) is refused before
// routing and authorization, so both always decide on the same path.

export type RequestTarget =
  | { readonly ok: true; readonly path: string; readonly segments: ReadonlyArray<string> }
  | { readonly ok: false; readonly detail: string }

/** A path segment: the characters our routes and session ids use, nothing that decodes to something else. */
const SEGMENT = /^[A-Za-z0-9._:-]+$/
const MAX_TARGET_LENGTH = 2048

const refuse = (detail: string): RequestTarget => ({ ok: false, detail })

/** Checks the raw request target (Node's `req.url`): origin-form only, canonical path, any query ignored. */
export const parseRequestTarget = (raw: string): RequestTarget => {
  if (raw.length > MAX_TARGET_LENGTH) return refuse(`the request target is longer than ${MAX_TARGET_LENGTH} characters`)
  if (!raw.startsWith("/")) return refuse("only origin-form request targets (starting with /) are accepted")
  const queryAt = raw.indexOf("?")
  // ":" is the one reserved character our ids use, and many clients escape it: "%3A" is read as
  // ":" here, once, before routing and authorization. Every other escape is refused below.
  const path = (queryAt === -1 ? raw : raw.slice(0, queryAt)).replace(/%3A/gi, ":")
  // "#" never belongs in a request; "%" and "\" are spellings a router might decode or fold.
  if (/[^\x21-\x7e]|[%\\#;]/.test(path)) {
    return refuse(
      "the path holds percent-encoding, a backslash, a fragment, a parameter or a byte outside visible ASCII"
    )
  }
  if (path === "/") return { ok: true, path, segments: [] }
  const segments = path.slice(1).split("/")
  for (const segment of segments) {
    if (segment === "") return refuse("the path has an empty segment (a duplicate or trailing slash)")
    if (segment === "." || segment === "..") return refuse("the path has a dot segment")
    if (!SEGMENT.test(segment)) return refuse("the path has a character outside [A-Za-z0-9._:-] in a segment")
  }
  return { ok: true, path, segments }
}
