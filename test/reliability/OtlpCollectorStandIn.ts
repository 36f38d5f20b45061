// A minimal OTLP/HTTP JSON receiver on 127.0.0.1: keeps the spans it is sent, for assertions.
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

export interface ReceivedSpan {
  readonly name: string
  readonly traceId: string
  readonly attributes: Record<string, unknown>
}

const attributeValue = (value: Record<string, unknown>): unknown =>
  value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue ?? value

export const startOtlpCollector = async () => {
  const spans: Array<ReceivedSpan> = []
  const server = createServer((req, res) => {
    let body = ""
    req.on("data", (chunk) => (body += chunk))
    req.on("end", () => {
      try {
        const payload = JSON.parse(body) as { resourceSpans?: Array<any> }
        for (const resource of payload.resourceSpans ?? []) {
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              spans.push({
                name: span.name,
                traceId: String(span.traceId).toLowerCase(),
                attributes: Object.fromEntries(
                  (span.attributes ?? []).map((a: any) => [a.key, attributeValue(a.value ?? {})])
                )
              })
            }
          }
        }
      } catch {
        // A body we cannot read is simply not recorded.
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
