// /openapi.json (generated from the HttpApi contract) and /docs (Swagger UI over it).
import { HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { openApiDocument } from "./Api.js"

const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>security-agent API</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="ui"></div>
<noscript>The API description is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({ url: "/openapi.json", dom_id: "#ui" })</script>
</body></html>`

export const openApiHandler = Effect.sync(() => HttpServerResponse.unsafeJson(openApiDocument()))

export const docsPageHandler = Effect.succeed(HttpServerResponse.html(DOCS_PAGE))
