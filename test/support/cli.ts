/**
 * The `troupe` command run in the test's own process (`Cli.run`), for cases that check what a command that starts
 * no node prints (its help, a flag or usage mistake): what it wrote to stdout and stderr, and the exit code `bin.ts`
 * gives that end, with what `NodeRuntime.runMain` would add on stderr (the failure's cause, unless the error says it
 * was reported). A child process costs ~0.8 s of CPU per start; this costs the parse. Keep real child starts
 * (`support/child.ts`) for what only they show: the bin, each command family's exit code and streams, and any
 * command that imports a module (an import in the test's process goes through vitest, not Node's loader).
 *
 * @example
 * const { code, stdout } = await troupeInProcess(["--help"])
 */
import { Cli } from "@troupe/cli"
import { Cause, Effect, Exit, Runtime } from "effect"
import { TestConsole } from "effect/testing"
import type { Exit as ChildExit } from "./child.ts"

/** What `troupe <args>` printed, and its exit code, run in this process. */
export const troupeInProcess = async (args: ReadonlyArray<string>): Promise<Omit<ChildExit, "signal">> => {
  const text = (lines: ReadonlyArray<unknown>) => lines.map((line) => `${line}\n`).join("")
  const { exit, out, err } = await Effect.runPromise(
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Cli.run(args))
      return { exit, out: yield* TestConsole.logLines, err: yield* TestConsole.errorLines }
    }).pipe(Effect.provide(TestConsole.layer))
  )
  if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) {
    return { code: 0, stdout: text(out), stderr: text(err) }
  }
  // bin.ts: runMain reports the cause unless its error was reported, and exits with the error's code (1)
  const error = Cause.squash(exit.cause)
  const reported = Runtime.getErrorReported(error) ? [Cause.pretty(exit.cause)] : []
  return { code: Runtime.getErrorExitCode(error), stdout: text(out), stderr: text([...err, ...reported]) }
}
