#!/usr/bin/env node
/**
 * The `troupe` executable: `troupe node ...`, `troupe protocol check|project|diagram ...`. See docs/cli.md.
 * Ctrl-C (or SIGTERM) stops a node gracefully, and then the process exits with code 0: the stop was asked
 * for, so it is not a failure (and `pnpm troupe` does not report one).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Exit, Runtime } from "effect"
import * as Cli from "./Cli.ts"

NodeRuntime.runMain(Cli.run(process.argv.slice(2)), {
  teardown: (exit, onExit) =>
    Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
})
