// Other spellings of a route's request target: what a lenient router, a proxy or a browser might
// read as the same path. The access layer must refuse each (400/404/405) or treat it exactly as
// the canonical path — never let one reach a handler its route's rule would refuse.

/** At least 40 spellings of `path` (which must start with "/v1/" and have 2+ segments). */
export const spellingsOf = (path: string, port: number): ReadonlyArray<string> => {
  const segments = path.slice(1).split("/")
  const [first = "", second = ""] = segments
  const rest = segments.slice(1).join("/")
  const last = segments[segments.length - 1] ?? ""
  const head = segments.slice(0, -1).join("/")
  const encodeAll = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join("")
  const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)
  return [
    `/${path}`,
    `//${path.slice(1)}`,
    `///${path.slice(1)}`,
    `/${first}//${rest}`,
    `${path}/`,
    `${path}//`,
    `/.${path}`,
    `/${first}/./${rest}`,
    `${path}/.`,
    `/x/..${path}`,
    `/${first}/x/../${rest}`,
    `/${first}/./././${rest}`,
    `/${first.toUpperCase()}/${rest}`,
    `/${first}/${rest.toUpperCase()}`,
    path.toUpperCase(),
    `/${first}/${upperFirst(second)}${rest.slice(second.length)}`,
    `/${encodeAll(first)}/${rest}`,
    `/${first}/%${second.charCodeAt(0).toString(16)}${rest.slice(1)}`,
    `/${first}%2f${rest}`,
    `/${first}%2F${rest}`,
    `/%2e${path}`,
    `/%2E%2E${path}`,
    `/.%2e${path}`,
    `${path}%2f`,
    `${path}%00`,
    `${path}%20`,
    `${path}%09`,
    `/${head}/${encodeAll(last)}`,
    `${path};x=1`,
    `/${first};${rest.length > 0 ? `/${rest}` : ""}`,
    `${path}/..;/`,
    `\\${path.slice(1).replaceAll("/", "\\")}`,
    `/${first}\\${rest}`,
    `http://127.0.0.1:${port}${path}`,
    `HTTP://127.0.0.1:${port}${path}`,
    `http://localhost:${port}${path}`,
    `http://evil.example${path}`,
    `https://127.0.0.1:${port}${path}`,
    `//127.0.0.1:${port}${path}`,
    `${path}#fragment`,
    path.slice(1),
    `/${first}/${rest}/%2e`,
    `/${first}/%2e%2e/${first}/${rest}`,
    `/${first.toUpperCase()}/${rest}?x=1`,
    `/%2F${path}`,
    "*"
  ]
}
