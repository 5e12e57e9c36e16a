/**
 * The `once` effects that session runner processes (`sessionRunner.ts`) ran, read off their output (each prints a line
 * per effect, see `sessionRoles.ts`): to wait for sessions' progress on a runner, and to see which roles went on on
 * another runner after one was killed.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { startRunner as startProcess } from "./processes.ts"

const SCRIPT = fileURLToPath(new URL("./sessionRunner.ts", import.meta.url))

/** One `once` effect a runner ran: which runner, which effect (`<session>/<role>/<n>`). */
export interface Once {
  readonly runner: string
  readonly key: string
}

/**
 * A log of the `once` effects of the runners started with its `startRunner`, whose output goes to a new directory
 * named from `prefix` (`logs`).
 *
 * @example
 * const { onces, startRunner, progress } = onceLog("troupe-session-runners-")
 * runners.push(await startRunner(url(), "r1"))
 * await progress(10, "r1") // 10 more effects ran on r1
 */
export const onceLog = (prefix: string) => {
  const logs = mkdtempSync(join(tmpdir(), prefix))
  /** Every `once` effect a runner ran, in order. */
  const onces: Array<Once> = []
  let onOnce: () => void = () => {}
  /** The effects that ran on `runner` (any runner without one) of sessions of `batch` (any without one). */
  const ran = (runner?: string, batch?: string) =>
    onces.filter(
      (o) => (runner === undefined || o.runner === runner) && (batch === undefined || o.key.startsWith(`${batch}-`))
    ).length
  /** The roles of `batch`'s sessions that ran effects on a runner `on` accepts, in `list`. */
  const roles = (list: ReadonlyArray<Once>, batch: string, on: (runner: string) => boolean) =>
    new Set(list.filter((o) => o.key.startsWith(`${batch}-`) && on(o.runner)).map((o) => o.key.replace(/\/\d+$/, "")))
  return {
    logs,
    onces,
    /** Starts runner `name` on the cluster at `url`; its `once` lines go to the log. */
    startRunner: (url: string, name: string) =>
      startProcess(SCRIPT, url, name, logs, (line) => {
        const once = /"event":"once","key":"([^"]+)"/.exec(line)
        if (once === null) return
        onces.push({ runner: name, key: once[1]! })
        onOnce()
      }),
    /** Resolves once `count` more effects ran on `runner` (any without one), of sessions of `batch` (any without one). */
    progress: (count: number, runner?: string, batch?: string) => {
      const target = ran(runner, batch) + count
      return new Promise<void>((resolve) => {
        onOnce = () => {
          if (ran(runner, batch) >= target) resolve()
        }
      })
    },
    /** The roles of `batch`'s sessions that ran effects on `runner` before `at` (an index in `onces`) and elsewhere after. */
    movedFrom: (runner: string, batch: string, at: number) => {
      const before = roles(onces.slice(0, at), batch, (r) => r === runner)
      return [...roles(onces.slice(at), batch, (r) => r !== runner)].filter((role) => before.has(role))
    }
  }
}
