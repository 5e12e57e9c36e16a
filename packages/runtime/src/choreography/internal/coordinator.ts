/**
 * The coordinator of one session: an actor spawned by `Session.start` on the starter's system.
 *
 * It asks every participant to join (each registers the session and watches the coordinator), then tells
 * them all to begin; it watches every participant. Roles message each other directly; the coordinator
 * hears only of their ends: `Done` (a result), `Abort` (a violation, a timeout, a failure), or, after an
 * abort, `Left`. The first abort (or a participant's termination, or a cancel) is told to every role still
 * in the session, and the session ends once each has left, is gone, or had a few seconds to leave. Then the
 * coordinator completes the starter's outcome with the results or the cause, and the traces merged, and
 * stops; participants that missed the end learn of it from their death watch of the coordinator.
 *
 * In a durable session (see `DurableSession`) the session, its roles' results and its end are in storage: a
 * participant that terminates (its node crashed, say) is waited for, and joined again when it is back, until
 * the session's deadline; a coordinator started again after its node restarted joins the roles again.
 */
import type { Choreography as C } from "@troupe/choreography"
import { Deferred, Effect } from "effect"
import type { Behavior } from "../../Behavior.ts"
import * as Behaviors from "../../Behavior.ts"
import { Coordination, type Settings } from "./coordination.ts"
import * as SessionAbort from "./sessionAbort.ts"
import * as SessionJoin from "./sessionJoin.ts"
import type { CoordinatorProtocol } from "./sessionProtocols.ts"
import { protocolsOf } from "./sessionProtocols.ts"

type Choreography = C.Protocol

export type { Completed, Settings } from "./coordination.ts"
export type { Durability } from "./durableJoin.ts"

/**
 * The handlers of a protocol's coordinators, made once per protocol: a session's settings are in its state
 * (a `Coordination`, which is also its behaviour), so that a live session keeps no closures of its own.
 */
const shared = new WeakMap<Choreography, Behavior<CoordinatorProtocol, Coordination>>()

const handlersOf = (choreography: Choreography): Behavior<CoordinatorProtocol, Coordination> => {
  let handlers: Behavior<CoordinatorProtocol, Coordination> | undefined = shared.get(choreography)
  if (handlers === undefined) {
    handlers = Behaviors.make(protocolsOf(choreography).coordinator, {
      init: (): Effect.Effect<Coordination> => Effect.die(new Error("made per session by Coordinator.behavior")),
      receive: {
        Done: (c, m, ctx) => c.done(ctx, m),
        Abort: (c, m, ctx) => SessionAbort.abort(c, ctx, m.role, m.cause, m.trace),
        Left: (c, m, ctx) => c.left(ctx, m.role, m.trace),
        Relink: (c, m, ctx) => c.relink(ctx, m.role, m.node),
        Joined: (c, m, ctx) => SessionJoin.joined(c, ctx, m.role),
        Cancel: (c, m, ctx) => SessionAbort.cancel(c, ctx, m.reason),
        Expire: (c, _, ctx) => SessionAbort.expire(c, ctx),
        Wake: (c) => Effect.succeed(c)
      },
      onTerminated: (c, terminated, ctx) => c.terminated(ctx, terminated)
    })
    shared.set(choreography, handlers)
  }
  return handlers
}

/** The behaviour of the coordinator of session `settings.id` of `choreography`. */
export const behavior = (choreography: Choreography, settings: Settings): Coordination =>
  new Coordination(choreography, settings, handlersOf(choreography))

/**
 * The behaviour of a coordinator whose settings are read when it starts (a sharded session's, from storage,
 * wherever the cluster activates it). `undefined` settings: the session ended; the coordinator stops at once.
 */
export const behaviorFrom = <R>(
  choreography: Choreography,
  id: string,
  settings: Effect.Effect<Settings | undefined, unknown, R>
): Behavior<CoordinatorProtocol, Coordination, R> => ({
  ...handlersOf(choreography),
  init: (ctx) =>
    Effect.flatMap(settings, (loaded) => {
      if (loaded !== undefined) return new Coordination(choreography, loaded, handlersOf(choreography)).start(ctx)
      const ended = new Coordination(
        choreography,
        {
          id,
          roles: {},
          stepTimeoutMillis: {},
          traceLimit: 0,
          outcome: Deferred.makeUnsafe()
        },
        handlersOf(choreography)
      )
      ended.phase = "ended"
      return Effect.as(ctx.stopSelf, ended)
    })
})
