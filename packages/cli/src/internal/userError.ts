/** How the commands report a failure a user can fix: one line, exit code 1. */
import { Effect, Runtime, Schema } from "effect"
import { CliError } from "effect/cli"

/** A failure the CLI has already reported (e.g. the problems of a protocol): exit code 1, nothing more printed. */
export class AlreadyReported extends Schema.TaggedError<AlreadyReported>()("AlreadyReported", {}) {
  override readonly [Runtime.errorReported] = false
}

/** Turns a typed error into a one-line user error that `Command.run` prints. */
export const userError = <A, E extends { readonly message: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.mapError(effect, (error) =>
    error instanceof AlreadyReported ? error : new CliError.UserError({ cause: error, userMessage: error.message })
  )
