/**
 * A durable actor's handlers and its start (see `Durable.persistent`): each handler runs the behaviour's own on the
 * latest state, then has the new state written (committed before a request's reply, batched after a tell); the start
 * claims the persistence id, loads and revives the stored state, commits the last state when the actor stops, and
 * reads the inbox if durable messages wait.
 */
import { Effect, Exit } from "effect"
import { internal as systemInternal } from "../../ActorSystem.ts"
import type { ActorContext, Behavior } from "../../Behavior.ts"
import { callHandler } from "../../internal/callHandler.ts"
import type { SystemImpl } from "../../internal/system.ts"
import type * as Protocol from "../../Protocol.ts"
import { internal, Storage } from "../Storage.ts"
import { describe, PersistenceIdInUse, StateNotDecodable, StateVersionUnknown } from "./errors.ts"
import * as Fenced from "./fenced.ts"
import * as Inbox from "./inbox.ts"
import { Instance, instances, revive, type StateSpec } from "./instance.ts"

/** A behaviour's handler, whatever its protocol. */
export type AnyHandler = (state: unknown, message: unknown, ctx: unknown) => Effect.Effect<unknown, unknown, unknown>

/** The actor system of a handler's context. */
export const systemOf = (ctx: unknown): SystemImpl => systemInternal((ctx as ActorContext<Protocol.Any>).system)

/** A handler of the durable behaviour: the inner handler on the latest state, then the write. */
export const wrap =
  (handler: AnyHandler, request: boolean): AnyHandler =>
  (state, message, ctx) => {
    const inst = state as Instance<unknown>
    if (inst.failure !== undefined) return Effect.fail(inst.failure)
    const out = callHandler(handler, inst.latest, message, ctx)
    if (request) {
      return Effect.flatMap(out, (result) => {
        const { state: next, reply } = result as { state: unknown; reply: unknown }
        if (next === inst.latest && !inst.dirty) return Effect.succeed({ state: inst, reply })
        inst.latest = next
        return Effect.as(inst.writer.commit(inst), { state: inst, reply })
      })
    }
    if (Exit.isExit(out)) {
      if (Exit.isFailure(out)) return out
      if (out.value !== inst.latest) {
        inst.latest = out.value
        inst.writer.markDirty(inst)
      }
      return inst.same
    }
    return Effect.map(out, (next) => {
      if (next !== inst.latest) {
        inst.latest = next
        inst.writer.markDirty(inst)
      }
      return inst
    })
  }

/** Starts a durable actor: claims its persistence id, loads and revives its state, reads its inbox. */
export const start = <S, P extends Protocol.Any>(
  spec: StateSpec<S>,
  inner: Behavior<Protocol.Any, S, unknown>,
  ctx: ActorContext<P>
) =>
  Effect.gen(function* () {
    const pid = spec.persistenceId
    const storage = internal(yield* Storage)
    const system = systemOf(ctx)
    // one live process per node name and storage: a second one would handle this actor's messages again (and once
    // another process took the name over, this system's durable actors are stopped: see `fencing.ts`)
    yield* Fenced.claimForActors(storage, system)
    const table = instances(system)
    const held = table.get(pid)
    if (held !== undefined && held.path !== ctx.self.path) {
      return yield* new PersistenceIdInUse({ persistenceId: pid, path: ctx.self.path, holder: held.path })
    }
    // the stored state, and whether durable messages wait in the inbox, in one read
    const rows = yield* storage.sql<{
      revision: number | string | null
      version: number | string | null
      state: string | null
      pending: number | boolean
    }>`SELECT s.revision, s.version, s.state,
         EXISTS (SELECT 1 FROM troupe_inbox i WHERE i.recipient = k.id AND i.handled = 0) AS pending
       FROM (SELECT CAST(${pid} AS TEXT) AS id) k
       LEFT JOIN troupe_snapshots s ON s.persistence_id = k.id`.pipe(Effect.mapError(storage.failed("load", pid)))
    const initial: S =
      inner.init === undefined ? (inner.initial as S) : yield* inner.init(ctx as unknown as ActorContext<Protocol.Any>)
    let state = initial
    let revision = 0
    const found = rows[0]
    const row = found?.state === null || found === undefined ? undefined : (found as { state: string } & typeof found)
    if (row !== undefined) {
      revision = Number(row.revision)
      const version = Number(row.version)
      let json: unknown
      try {
        json = JSON.parse(row.state)
      } catch (error) {
        return yield* new StateNotDecodable({ persistenceId: pid, version, issue: `not JSON: ${describe(error)}` })
      }
      const revived = revive(spec, system, { version, state: json })
      if (Exit.isFailure(revived)) {
        const error = revived.cause.reasons[0]
        const load = error?._tag === "Fail" ? error.error : undefined
        if (load?._tag === "UnknownVersion") {
          return yield* new StateVersionUnknown({ persistenceId: pid, found: load.found, current: spec.version })
        }
        return yield* new StateNotDecodable({
          persistenceId: pid,
          version,
          issue: load?._tag === "NotDecodable" ? load.issue : String(revived.cause)
        })
      }
      state = revived.value
    }
    const inst = new Instance(spec, storage, state, revision)
    table.set(pid, { path: ctx.self.path, instance: inst as Instance<unknown> })
    // a migrated state is written back at its new version
    if (row !== undefined && Number(row.version) !== spec.version) inst.writer.markDirty(inst)
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        // the last state is committed before the actor is gone (and a batch in flight has landed), so that
        // whatever starts on this persistence id next reads it
        const last =
          inst.failure === undefined && (inst.dirty || inst.inFlight || inst.ops.length > 0)
            ? inst.writer
                .commit(inst)
                .pipe(
                  Effect.catchCause((cause) =>
                    Effect.logError("Could not write the last state of a durable actor", cause).pipe(
                      Effect.annotateLogs({ actor: ctx.self.path, persistenceId: pid })
                    )
                  )
                )
            : Effect.void
        return Effect.andThen(
          last,
          Effect.sync(() => {
            if (table.get(pid)?.instance === inst) table.delete(pid)
          })
        )
      })
    )
    if (found !== undefined && (found.pending === true || Number(found.pending) === 1)) {
      Inbox.requestPoke(inst as Instance<unknown>, ctx as unknown as ActorContext<Protocol.Any>)
    }
    return inst
  })
