// /openapi.json: the document generated from the HttpApi contract, completed with what only the
// running configuration knows — whether a bearer token is required (security is declared
// optional when the server runs without tokens) and the message length limit.
import { HttpApiBuilder, HttpServerResponse, OpenApi } from "@effect/platform"
import { Effect, JSONSchema } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { ErrorBody, SecurityAgentApi } from "./Api.js"
import { ApiTokens } from "./ApiTokens.js"

type Json = Record<string, any>

export interface DocumentSettings {
  readonly tokensRequired: boolean
  readonly maxMessageChars: number
}

const resolve = (spec: Json, schema: Json): Json =>
  typeof schema.$ref === "string" ? (spec.components.schemas[schema.$ref.split("/").pop() ?? ""] ?? schema) : schema

const { $schema: _, ...problemSchema } = JSONSchema.make(ErrorBody) as Json

/**
 * Every 400 is a problem+json from the access gate or the chat body reader: HttpApi's own decode
 * error (which the handlers never produce, since the gate checks parameters first) is not offered.
 */
const problemFor400 = (spec: Json) => {
  for (const path of Object.values(spec.paths) as Array<Json>) {
    for (const operation of Object.values(path) as Array<Json>) {
      const response = operation.responses?.["400"]
      if (response === undefined) continue
      const ownDescription = response.description !== "The request did not match the expected schema"
      operation.responses["400"] = {
        description: ownDescription
          ? response.description
          : "A request target that is not canonical (one spelling per route), or a query the route does not take",
        content: { "application/problem+json": { schema: problemSchema } }
      }
    }
  }
  for (const name of ["HttpApiDecodeError", "Issue", "PropertyKey"]) delete spec.components.schemas[name]
}

export const openApiDocument = (settings: DocumentSettings): Json => {
  // Unknown request fields are ignored, not refused: say so instead of `additionalProperties: false`.
  const spec = structuredClone(OpenApi.fromApi(SecurityAgentApi, { additionalPropertiesStrategy: "allow" })) as Json
  problemFor400(spec)
  if (!settings.tokensRequired) {
    // `{}` among the requirements: the operation may also be called without credentials.
    for (const path of Object.values(spec.paths) as Array<Json>) {
      for (const operation of Object.values(path) as Array<Json>) {
        if (Array.isArray(operation.security) && operation.security.length > 0) operation.security.push({})
      }
    }
  }
  const body = spec.paths["/v1/chat"]?.post?.requestBody?.content?.["application/json"]?.schema
  if (body !== undefined) {
    const message = resolve(spec, resolve(spec, body).properties?.message ?? {})
    message.maxLength = settings.maxMessageChars
    // A message must say something: whitespace alone is refused.
    message.pattern = "\\S"
  }
  return spec
}

/** Serves the document on the contract's router (a public route of the access gate). */
export const OpenApiDocumentLive = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const tokens = yield* ApiTokens
    const response = yield* HttpServerResponse.json(
      openApiDocument({ tokensRequired: tokens.required, maxMessageChars: config.api.maxMessageChars })
    ).pipe(Effect.orDie)
    yield* router.get("/openapi.json", Effect.succeed(response))
  })
)
