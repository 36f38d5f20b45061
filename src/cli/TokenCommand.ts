// `security-agent token <name> <role>`: a new random API token and the ASSISTANT_API_TOKENS_FILE
// line that admits it. The line holds only the token's sha256, so the file (a Kubernetes
// Secret) never holds a token in clear; the token is printed once, here, and stored nowhere.
import { Args, Command } from "@effect/cli"
import { Console, Data, Effect } from "effect"
import { isRole, PRINCIPAL_NAME_PATTERN } from "../domain/Principal.js"
import { newTokenLine } from "../http/ApiTokens.js"

class TokenRequestInvalid extends Data.TaggedError("TokenRequestInvalid")<{ readonly message: string }> {}

const RESERVED = new Set(["default", "local-cli", "anonymous"])

const name = Args.text({ name: "name" }).pipe(Args.withDescription("Principal name: 1-64 of [A-Za-z0-9._-]"))
const role = Args.text({ name: "role" }).pipe(
  Args.withDescription("viewer (read-only) or operator (may change the WAF)")
)

export const tokenCommand = Command.make("token", { name, role }, (args) =>
  Effect.gen(function* () {
    if (!PRINCIPAL_NAME_PATTERN.test(args.name) || RESERVED.has(args.name)) {
      return yield* new TokenRequestInvalid({
        message: `"${args.name.slice(0, 80)}" cannot be a principal name: use 1-64 characters of [A-Za-z0-9._-], not default, local-cli or anonymous`
      })
    }
    if (!isRole(args.role)) {
      return yield* new TokenRequestInvalid({
        message: `"${args.role.slice(0, 40)}" is not a role: use viewer or operator`
      })
    }
    const { token, line } = newTokenLine(args.name, args.role)
    yield* Console.log(`token: ${token}`)
    yield* Console.log(`line:  ${line}`)
    yield* Console.error(
      "Give the token to its holder (send it as Authorization: Bearer <token>) and add the line to ASSISTANT_API_TOKENS_FILE; the token is not stored anywhere."
    )
  })
).pipe(Command.withDescription("Print a new API token and its ASSISTANT_API_TOKENS_FILE line"))
