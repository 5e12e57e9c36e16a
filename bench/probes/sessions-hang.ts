/**
 * Hunts a hang of `sessions_10k_vs_1`'s shape (a request and its answer between two roles played by two shared
 * participant actors): `BATCHES` batches of `N` sessions at once (default 20 of 10 k). Each session's end is counted,
 * failures included (a loaded machine times joins out: counted by kind, not a hang); when no session ends for `WATCH`
 * seconds (default 60) while some are running, it prints what is stuck and exits 2: the participants' cells (status,
 * draining, mailbox, waiting senders, the message handled) and the coordinators that did not end, by phase.
 * Run: `pnpm exec node bench/probes/sessions-hang.ts` (BATCHES=20 N=10000 WATCH=60 MAILBOX=1024
 * ASK_TIMEOUT=600).
 */
import { loadavg } from "node:os"
import { ActorSystem, Mailbox, Session } from "@troupe/runtime"
import { Cause, Effect, Exit } from "effect"
import type { ActorCell } from "../../packages/runtime/src/internal/cell.ts"
import { localCell } from "../../packages/runtime/src/internal/system.ts"
import { Ask, askClient as client, askServer as server } from "../../test/support/session-ask.ts"

const batches = Number(process.env.BATCHES ?? 20)
const n = Number(process.env.N ?? 10_000)
const watch = Number(process.env.WATCH ?? 60)
const mailbox = Mailbox.bounded(Number(process.env.MAILBOX ?? 1024))

const describe = (cell: ActorCell) => ({
  path: cell.path,
  status: cell.status,
  draining: cell.draining,
  fiber: cell.fiber?.id,
  mailbox: cell.mailbox?.length ?? 0,
  control: cell.control?.length ?? 0,
  waiters: cell.waiters?.length ?? 0,
  firstWaiter: cell.waiters?.peek()?.envelope.message._tag,
  current: cell.current?.message._tag,
  stashed: cell.stashed?.length ?? 0
})

/** What is stuck: the participants, and the coordinators still registered, by phase. */
const dump = (participants: ReadonlyArray<ActorCell>) => {
  const system = participants[0]!.system
  console.log("system running", system.running, "registry", system.registry.size)
  for (const cell of participants) console.log("participant", describe(cell))
  const phases = new Map<string, number>()
  let shown = 0
  for (const [path, cell] of system.registry) {
    if (!path.startsWith("/user/session-")) continue
    const c = cell.state as { phase?: string; joinedRoles?: unknown; endedRoles?: unknown; joining?: unknown }
    const key = `${c.phase} joined=${String(c.joinedRoles)} ended=${String(c.endedRoles)} status=${cell.status}`
    phases.set(key, (phases.get(key) ?? 0) + 1)
    if (shown++ < 3) console.log("coordinator", describe(cell), key, "joining", c.joining !== undefined)
  }
  console.log("coordinators by phase", Object.fromEntries(phases))
}

await Effect.runPromise(
  Effect.provide(
    Effect.gen(function* () {
      const C = yield* ActorSystem.spawn(client, { mailbox })
      const S = yield* ActorSystem.spawn(server, { mailbox })
      const participants = [localCell(C)!, localCell(S)!]
      let ended = 0
      const one = Effect.map(Effect.exit(Session.run(Ask, { roles: { C, S } })), (exit) => {
        ended++
        return exit
      })
      yield* Effect.forEach(Array.from({ length: 1000 }), () => one, { discard: true })
      for (let batch = 0; batch < batches; batch++) {
        const t0 = performance.now()
        // (a timer, not an Effect timeout: what is stuck is shown as it is, not after interrupting it)
        let seen = -1
        const watchdog = setInterval(() => {
          if (ended !== seen) {
            seen = ended
            return
          }
          console.log(`batch ${batch}: HANG (no session ended for ${watch} s)`)
          dump(participants)
          process.exit(2)
        }, watch * 1000)
        const exits = yield* Effect.forEach(Array.from({ length: n }), () => one, { concurrency: "unbounded" })
        clearInterval(watchdog)
        const failures = new Map<string, number>()
        for (const exit of exits) {
          if (Exit.isSuccess(exit)) continue
          const kind = Cause.pretty(exit.cause)
            .split("\n")[0]!
            .replace(/[0-9a-f-]{36}/g, "<id>")
          failures.set(kind, (failures.get(kind) ?? 0) + 1)
        }
        const load = loadavg()[0]!.toFixed(1)
        console.log(
          `batch ${batch}: ${(performance.now() - t0).toFixed(0)} ms, load ${load}`,
          Object.fromEntries(failures)
        )
      }
      console.log(`${batches} batches of ${n} at once: no hang`)
    }),
    // (joins are asks: on a loaded machine 10 k at once outlast the default 5 s, and the sessions abort before they
    // begin; ASK_TIMEOUT=5 for the default)
    ActorSystem.layer({ name: "probe", askTimeout: `${Number(process.env.ASK_TIMEOUT ?? 600)} seconds` })
  )
)
