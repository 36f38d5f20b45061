// Requests exactly as written: a raw TCP socket to 127.0.0.1, so a test controls the request
// target, the Host and every header byte (fetch would normalise them).
import { connect } from "node:net"

export interface RawResponse {
  /** The status code; 0 when the server closed without answering, -1 on a timeout. */
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export interface RawRequest {
  readonly method: string
  readonly target: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
  /** Sent as is when given (a Host header is added otherwise). */
  readonly host?: string
}

const parse = (text: string): RawResponse => {
  const [head = "", ...rest] = text.split("\r\n\r\n")
  const [statusLine = "", ...headerLines] = head.split("\r\n")
  const headers: Record<string, string> = {}
  for (const line of headerLines) {
    const at = line.indexOf(":")
    if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim()
  }
  let body = rest.join("\r\n\r\n")
  if (headers["transfer-encoding"] === "chunked") {
    let decoded = ""
    let remaining = body
    for (;;) {
      const lineEnd = remaining.indexOf("\r\n")
      if (lineEnd < 0) break
      const size = Number.parseInt(remaining.slice(0, lineEnd), 16)
      if (!(size > 0)) break
      decoded += remaining.slice(lineEnd + 2, lineEnd + 2 + size)
      remaining = remaining.slice(lineEnd + 2 + size + 2)
    }
    body = decoded
  }
  return { status: Number(statusLine.match(/^HTTP\/1\.[01] (\d{3})/)?.[1] ?? 0), headers, body }
}

/** One request on its own connection (`Connection: close`), answered in full. */
export const rawHttp = (baseUrl: string, request: RawRequest, timeoutMs = 10_000): Promise<RawResponse> =>
  new Promise((resolve) => {
    const url = new URL(baseUrl)
    const socket = connect({ host: "127.0.0.1", port: Number(url.port) })
    const chunks: Array<Buffer> = []
    let settled = false
    const finish = (response: RawResponse) => {
      if (settled) return
      settled = true
      socket.destroy()
      resolve(response)
    }
    socket.setTimeout(timeoutMs, () => finish({ status: -1, headers: {}, body: "" }))
    socket.on("connect", () => {
      const body = request.body ?? ""
      const headers: Record<string, string> = {
        ...(request.host === undefined ? { Host: url.host } : { Host: request.host }),
        Connection: "close",
        ...(body === "" && request.method === "GET" ? {} : { "Content-Length": String(Buffer.byteLength(body)) }),
        ...request.headers
      }
      const head = Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join("")
      socket.write(`${request.method} ${request.target} HTTP/1.1\r\n${head}\r\n${body}`)
    })
    socket.on("data", (chunk) => chunks.push(chunk))
    socket.on("error", () => finish(parse(Buffer.concat(chunks).toString("utf8"))))
    socket.on("close", () => finish(parse(Buffer.concat(chunks).toString("utf8"))))
  })
