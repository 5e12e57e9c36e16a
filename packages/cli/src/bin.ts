#!/usr/bin/env node
/** The `troupe` executable: `troupe node ...`, `troupe protocol check|project|diagram ...`. See docs/cli.md. */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cli from "./Cli.ts"

NodeRuntime.runMain(Cli.run(process.argv.slice(2)))
