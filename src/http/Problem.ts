// Every error the API answers, as RFC 9457 `application/problem+json`: `type`, `title`,
// `status`, `detail`, plus the short code in `error` (and `trace_id` for a 500) as extension
// members, so clients written against `{error, detail}` keep working.
import { STATUS_CODES } from "node:http"
import { HttpServerResponse } from "@effect/platform"

export const PROBLEM_CONTENT_TYPE = "application/problem+json"

export const problem = (
  status: number,
  error: string,
  detail: string,
  options: { readonly headers?: Readonly<Record<string, string>>; readonly traceId?: string } = {}
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(
    {
      type: "about:blank",
      title: STATUS_CODES[status] ?? "Error",
      status,
      detail,
      error,
      ...(options.traceId === undefined ? {} : { trace_id: options.traceId })
    },
    { status, contentType: PROBLEM_CONTENT_TYPE, headers: options.headers ?? {} }
  )
