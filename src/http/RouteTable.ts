// Every route the API serves, with who may call it: the one table both routing and
// authorization read. A route not in the table does not exist (404); a path with another method
// is 405 with `Allow`. Static segments match case-sensitively, so `/V1/chat` is no route.
import type { Role } from "../domain/Principal.js"

/** `public`: no principal needed. A role: a principal with at least that role. */
export type RouteAccess = "public" | Role

export type HttpMethod = "GET" | "POST"

export interface RouteSpec<Name extends string = string> {
  readonly name: Name
  readonly method: HttpMethod
  /** `/v1/sessions/:session_id/turns/:turn_id/trace`: `:name` segments capture one segment. */
  readonly template: string
  readonly access: RouteAccess
}

export type RouteMatch<Name extends string> =
  | { readonly _tag: "Matched"; readonly route: RouteSpec<Name>; readonly params: Readonly<Record<string, string>> }
  | { readonly _tag: "MethodNotAllowed"; readonly allow: ReadonlyArray<HttpMethod> }
  | { readonly _tag: "NotFound" }

const matchTemplate = (
  template: string,
  segments: ReadonlyArray<string>
): Readonly<Record<string, string>> | undefined => {
  const parts = template === "/" ? [] : template.slice(1).split("/")
  if (parts.length !== segments.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    const segment = segments[i]!
    if (part.startsWith(":")) params[part.slice(1)] = segment
    else if (part !== segment) return undefined
  }
  return params
}

/** HEAD is answered like GET (Node sends no body); every other method must be the route's own. */
export const matchRoute = <Name extends string>(
  routes: ReadonlyArray<RouteSpec<Name>>,
  method: string,
  segments: ReadonlyArray<string>
): RouteMatch<Name> => {
  const effective = method === "HEAD" ? "GET" : method
  const allow: Array<HttpMethod> = []
  for (const route of routes) {
    const params = matchTemplate(route.template, segments)
    if (params === undefined) continue
    if (route.method === effective) return { _tag: "Matched", route, params }
    allow.push(route.method)
  }
  return allow.length > 0 ? { _tag: "MethodNotAllowed", allow } : { _tag: "NotFound" }
}
