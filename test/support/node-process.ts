/**
 * What the node scripts of multi-process tests share (see `cluster.ts`): JSON events on stdout, JSON commands
 * on stdin, and how the process starts and ends.
 */
import * as Readline from "node:readline"
import { Deferred, Effect, Exit, Logger, References, type Scope } from "effect"

/** Writes one event line on stdout. */
export const emit = (event: unknown) => process.stdout.write(`${JSON.stringify(event)}\n`)

/**
 * Reads one command per line of stdin and runs it (each in its own fiber, in the scope): `run` answers what
 * the command does; a command that succeeds is answered `done` (unless `run` answered itself), one that fails
 * is answered `failed`. Returns when a `stop` command comes.
 */
export const serve = <C extends { readonly id: number; readonly cmd: string }>(
  run: (command: C) => Effect.Effect<unknown, unknown>
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    const stop = yield* Deferred.make<void>()
    const handle = (command: C): Effect.Effect<void> =>
      command.cmd === "stop"
        ? Deferred.succeed(stop, undefined)
        : run(command).pipe(
            Effect.flatMap((answer) =>
              answer === "answered" ? Effect.void : Effect.sync(() => emit({ event: "done", id: command.id }))
            ),
            Effect.catchCause((cause) =>
              Effect.sync(() => emit({ event: "failed", id: command.id, error: String(cause) }))
            )
          )
    const lines = Readline.createInterface({ input: process.stdin })
    const scope = yield* Effect.scope
    const fork = Effect.runForkWith(yield* Effect.context<never>())
    lines.on("line", (line) => {
      fork(Effect.forkIn(handle(JSON.parse(line) as C), scope))
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => lines.close()))
    yield* Deferred.await(stop)
  })

/** Runs a node script's program (logs on stderr) and exits with 0, or with 1 after printing the failure. */
export const main = (program: Effect.Effect<void, unknown, Scope.Scope>): void => {
  Effect.runPromiseExit(
    Effect.scoped(program).pipe(
      // TROUPE_NODE_LOG=Debug shows the transport's connection changes (cuts, attaches, dial failures)
      Effect.provideService(References.MinimumLogLevel, process.env.TROUPE_NODE_LOG === "Debug" ? "Debug" : "Info"),
      Effect.provide(Logger.layer([Logger.withConsoleError(Logger.formatLogFmt)]))
    )
  ).then((exit) => {
    if (Exit.isFailure(exit)) process.stderr.write(`${String(exit.cause)}\n`)
    process.exit(Exit.isSuccess(exit) ? 0 : 1)
  })
}
