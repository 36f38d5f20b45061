// Requests that carry no token could come from a browser: a page on another site posting to
// us (cross-site request) or a hostile name that now resolves to 127.0.0.1 (DNS rebinding).
// Both are told apart by headers a page cannot forge: the raw Host and the Origin.
import ipaddr from "ipaddr.js"

export type BrowserCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: "forbidden_host" | "forbidden_origin"; readonly detail: string }

export interface BrowserPolicy {
  /** Lowercase host names (no port) allowed beyond loopback. */
  readonly allowedHosts: ReadonlyArray<string>
  /** Lowercase origins (`scheme://host[:port]`) allowed beyond the server's own. */
  readonly allowedOrigins: ReadonlyArray<string>
}

/** `host[:port]` or `[v6][:port]` → the host alone, lowercase; undefined when malformed. */
export const hostName = (hostHeader: string): string | undefined => {
  const value = hostHeader.trim().toLowerCase()
  const bracketed = value.match(/^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/)
  if (bracketed !== null) return bracketed[1]
  const plain = value.match(/^([a-z0-9.-]+)(?::(\d{1,5}))?$/)
  return plain?.[1]
}

/** localhost, *.localhost, 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export const isLoopbackName = (host: string): boolean => {
  if (host === "localhost" || host.endsWith(".localhost")) return true
  if (!ipaddr.isValid(host)) return false
  // Only canonical dotted quads: "127.1", "0x7f.1" or "2130706433" are not what a browser sends for loopback.
  if (!host.includes(":") && !ipaddr.IPv4.isValidFourPartDecimal(host)) return false
  return ipaddr.process(host).range() === "loopback"
}

export const makeBrowserPolicy = (allowedHosts: ReadonlyArray<string>, allowedOrigins: ReadonlyArray<string>) => ({
  allowedHosts: allowedHosts.map((h) => h.toLowerCase()),
  allowedOrigins: allowedOrigins.map((o) => o.toLowerCase().replace(/\/+$/, ""))
})

export const checkBrowserHeaders = (
  policy: BrowserPolicy,
  headers: {
    readonly host?: string | undefined
    readonly origin?: string | undefined
    readonly secFetchSite?: string | undefined
  }
): BrowserCheck => {
  const rawHost = headers.host ?? ""
  const host = hostName(rawHost)
  if (host === undefined || !(isLoopbackName(host) || policy.allowedHosts.includes(host))) {
    return {
      ok: false,
      reason: "forbidden_host",
      detail: `Host "${rawHost.slice(0, 100)}" is not a loopback name or one in ASSISTANT_API_ALLOWED_HOSTS; requests without a token are accepted only for those (DNS rebinding protection)`
    }
  }
  const origin = headers.origin?.trim().toLowerCase()
  const allowedOrigin = origin !== undefined && policy.allowedOrigins.includes(origin)
  // A browser says where a request comes from even when it sends no Origin (a GET from a <script>
  // or <img> of another site): anything but this origin or the user typing the URL is refused.
  const site = headers.secFetchSite?.trim().toLowerCase()
  if (site !== undefined && site !== "same-origin" && site !== "none" && !allowedOrigin) {
    return {
      ok: false,
      reason: "forbidden_origin",
      detail: `a request from another site (Sec-Fetch-Site: ${site.slice(0, 40)}) without a token is refused; add its origin to ASSISTANT_API_ALLOWED_ORIGINS or use a token`
    }
  }
  if (origin !== undefined && headers.origin !== undefined) {
    const own = [`http://${rawHost.trim().toLowerCase()}`, `https://${rawHost.trim().toLowerCase()}`]
    if (!own.includes(origin) && !allowedOrigin) {
      return {
        ok: false,
        reason: "forbidden_origin",
        detail: `Origin "${headers.origin.slice(0, 100)}" is neither this server nor one in ASSISTANT_API_ALLOWED_ORIGINS; requests without a token are refused from other sites`
      }
    }
  }
  return { ok: true }
}
