// The one failure a tool call reports to the agent nodes: which tool, a message a person can act
// on, and a bounded error type for traces and spans.
import { Data } from "effect"
import type { ToolName } from "../domain/Tools.js"

/**
 * Bounded `errorType` values: safeline_auth, safeline_timeout, safeline_unreachable, safeline_tls,
 * safeline_http_error, safeline_envelope_error, invalid_response, not_found, invalid_target, other.
 */
export const TOOL_ERROR_TYPES = [
  "safeline_auth",
  "safeline_timeout",
  "safeline_unreachable",
  "safeline_tls",
  "safeline_http_error",
  "safeline_envelope_error",
  "invalid_response",
  "not_found",
  "invalid_target",
  "other"
] as const
export type ToolErrorType = (typeof TOOL_ERROR_TYPES)[number]

export class ToolError extends Data.TaggedError("ToolError")<{
  readonly tool: ToolName
  /** What happened and what to do. */
  readonly message: string
  readonly errorType: ToolErrorType
  readonly cause?: unknown
}> {}
