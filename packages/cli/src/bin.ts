#!/usr/bin/env node
/**
 * The `troupe` executable: `troupe node ...`, `troupe protocol check|project|diagram ...`. See docs/cli.md.
 * Ctrl-C (or SIGTERM) stops a node gracefully, and then the process exits with code 0: the stop was asked
 * for, so it is not a failure (and `pnpm troupe` does not report one).
 *
 * Node keeps the code it compiled for the modules imported below on disk (in the temp directory; see
 * `module.enableCompileCache`, `NODE_DISABLE_COMPILE_CACHE=1` turns it off), so later starts skip compiling
 * them: they are imported after it is on. Each command imports what it needs when it runs.
 */
import { enableCompileCache } from "node:module"

enableCompileCache()
const [{ Cause, Exit, Runtime }, NodeRuntime, Cli] = await Promise.all([
  import("effect"),
  import("@effect/platform-node/NodeRuntime"),
  import("./Cli.ts")
])

NodeRuntime.runMain(Cli.run(process.argv.slice(2)), {
  teardown: (exit, onExit) =>
    Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
})
