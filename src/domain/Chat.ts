// The public shapes of a conversation: what a client sends to POST /v1/chat and what it gets
// back, with the id rules every entry point (HTTP, CLI, trace route) checks the same way.
import { Schema } from "effect"
import { AGENTS } from "./Agents.js"

export const SESSION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/
export const SESSION_ID_RULE = "session_id must be 1-128 characters of [A-Za-z0-9._:-]"

export const SessionId = Schema.String.pipe(
  Schema.pattern(SESSION_ID_PATTERN, { message: () => SESSION_ID_RULE })
).annotations({ description: "1-128 characters of [A-Za-z0-9._:-]" })

export const TURN_ID_PATTERN = /^[1-9][0-9]{0,9}$/
export const TURN_ID_RULE = "turn_id must be a positive integer, as in the chat response"

/** "1", "2", … per session: the same string as in the JSONL trace events. */
export const TurnId = Schema.String.pipe(Schema.pattern(TURN_ID_PATTERN, { message: () => TURN_ID_RULE })).annotations({
  description: '"1", "2", … per session; the same as in trace events'
})

export const ChatRequest = Schema.Struct({
  message: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "What the user says" }),
  session_id: Schema.optional(SessionId).annotations({ description: "Continue this session (new if unknown)" })
})

/** What a reply cites: a document and its section. */
export const SourceRef = Schema.Struct({ source: Schema.String, section: Schema.String })
export type SourceRef = typeof SourceRef.Type

export const PendingActionView = Schema.Struct({
  action: Schema.String,
  summary: Schema.String,
  expires_at: Schema.String.annotations({ description: "ISO-8601 UTC" })
})

/** Where the WAF figures of a turn come from: a simulator, a non-production SafeLine, or production. */
export const DATA_SOURCES = ["simulator", "safeline_non_production", "safeline"] as const
export type DataSourceName = (typeof DATA_SOURCES)[number]

export const ChatResponse = Schema.Struct({
  session_id: SessionId,
  turn_id: TurnId,
  trace_id: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{32}$/)).annotations({
    description: "32 lowercase hex: the turn span's trace id"
  }),
  route: Schema.Literal(...AGENTS),
  reply: Schema.String,
  sources: Schema.Array(SourceRef),
  pending_action: Schema.optional(PendingActionView),
  steps: Schema.optional(
    Schema.Array(
      Schema.Struct({
        agent: Schema.Literal(...AGENTS),
        status: Schema.Literal("done", "failed", "not_run"),
        request: Schema.String
      })
    )
  ).annotations({
    description:
      "Only when the message asked for several things: each step of the turn's plan, in order, and whether it ran (`route` is the first step's agent)"
  }),
  data_source: Schema.Literal(...DATA_SOURCES).annotations({
    description:
      "Where the WAF figures come from: `simulator` (demo traffic, not a real WAF), `safeline_non_production` (SAFELINE_ENVIRONMENT is not production) or `safeline`"
  })
})

/** One answered turn, as the API returns it and the CLI prints it. */
export type TurnResult = typeof ChatResponse.Type
