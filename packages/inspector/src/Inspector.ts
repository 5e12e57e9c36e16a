/**
 * The live inspector: a web page, served by a node, that shows the running system as it runs. The cluster
 * (nodes, links, what is in flight on them); the actors of each node as a tree, with their state, mailbox
 * depth, restarts and last failure; the sessions, each as a sequence diagram that grows message by message,
 * with refusals, crashes, restarts, resumes, deadlines and notes where they happened; the agents (turns, tool
 * calls, tokens, cost, budget left); dead letters; and the questions waiting for a person, with exactly the
 * moves a human role may make now, as forms. Filters and search; a link per session.
 *
 * It works offline: its page and assets ship in this package. The inspectors of connected nodes feed each
 * other, so the page of any node shows them all. It is read-only unless started with a `token`: then whoever
 * opens the URL it prints (which carries the token) can stop actors, cancel sessions and answer questions.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function* () {
 *   const inspector = yield* Inspector.Inspector
 *   console.log(`inspector: ${inspector.url}`)
 *   // ... spawn actors, run sessions
 * })
 * program.pipe(
 *   Effect.provide(Inspector.layer({ port: 4000, token: "s3cret" })),
 *   Effect.provide(ActorSystem.layer({ name: "alice" }))
 * )
 * ```
 */
import { ActorSystem } from "@troupe/runtime"
import { TransportError } from "@troupe/transport"
import { Context, Duration, Effect, Exit, Layer, Option, Redacted, Schema, Scope } from "effect"
import { perform } from "./internal/actions.ts"
import { collect } from "./internal/collector.ts"
import { actRemotely, federate, linkName } from "./internal/federation.ts"
import { serve } from "./internal/server.ts"
import { Store } from "./internal/store.ts"
import type * as View from "./View.ts"

/** How the inspector runs. */
export interface Options {
  /** The port of its page; 0 (the default) picks a free one. */
  readonly port?: number | undefined
  /** The address to listen on; default `127.0.0.1` (this machine only). */
  readonly host?: string | undefined
  /** With a token, the page can act (stop actors, cancel sessions, answer questions); without, it only shows. */
  readonly token?: string | Redacted.Redacted<string> | undefined
  /** How often the actor tree, the links and the session roles are read. Default 500 ms. */
  readonly interval?: Duration.Input | undefined
}

/** A running inspector. */
export interface Service {
  /** The page's address, e.g. `http://127.0.0.1:4000/`. */
  readonly address: string
  /** The URL to open: the address, with the token in its fragment when there is one (it never reaches a log). */
  readonly url: string
  /** The state the page shows, now (a copy). */
  readonly state: Effect.Effect<View.State>
  /** How many pages (or other clients) follow its live stream now. */
  readonly viewers: Effect.Effect<number>
}

/** The running inspector. */
export class Inspector extends Context.Service<Inspector, Service>()("@troupe/inspector/Inspector") {}

/**
 * The actor through which the inspectors of connected nodes feed each other. A node whose `remoteAccess`
 * limits what peers reach must let them reach this one when it runs an inspector (`troupe node` does).
 */
export const actorPath = `/user/${linkName}`

/**
 * The inspector could not start: its port is taken, its host does not resolve, its token is empty, its interval
 * is not a duration, say. `part` names the option at fault when it is one of `host`, `port` and `interval`.
 */
export class InspectorError extends Schema.TaggedError<InspectorError>()("InspectorError", {
  host: Schema.String,
  port: Schema.Number,
  part: Schema.optionalKey(Schema.Literals(["host", "port", "interval"])),
  detail: Schema.String
}) {
  override get message() {
    return `The inspector could not start on ${this.host}:${this.port}: ${this.detail}`
  }
}

/**
 * Starts the inspector of a node; it stops when the scope closes (its actors too). A start that fails leaves nothing
 * running and nothing in the scope: it can be started again on the same system.
 *
 * @example
 * ```ts
 * const inspector = yield* Inspector.start(system, { port: 4000 })
 * console.log(`inspector: ${inspector.url}`)
 * ```
 */
export const start = (
  system: ActorSystem.ActorSystemService,
  options: Options = {}
): Effect.Effect<Service, InspectorError, Scope.Scope> =>
  Effect.gen(function* () {
    const host = options.host ?? "127.0.0.1"
    const port = options.port ?? 0
    const token =
      options.token === undefined
        ? undefined
        : Redacted.isRedacted(options.token)
          ? options.token
          : Redacted.make(options.token)
    if (!Number.isInteger(port) || port < 0 || port > 65_535) {
      return yield* new InspectorError({
        host,
        port,
        part: "port",
        detail: `its port ${port} is not one: give a whole number from 0 (any free port) to 65535`
      })
    }
    const interval = options.interval ?? "500 millis"
    const every = typeof interval === "number" && Number.isNaN(interval) ? Option.none() : Duration.fromInput(interval)
    if (Option.isNone(every) || !Duration.isGreaterThan(every.value, Duration.zero)) {
      return yield* new InspectorError({
        host,
        port,
        part: "interval",
        detail: `its interval ${JSON.stringify(interval) ?? String(interval)} is not a duration above 0: give e.g. "500 millis", "2 seconds" or a number of milliseconds`
      })
    }
    // an empty token would let anyone act with an empty `Bearer`: `--inspect-token "$UNSET"` must not do that
    if (token !== undefined && Redacted.value(token).trim() === "") {
      return yield* new InspectorError({
        host,
        port,
        detail:
          "its token is empty or only spaces (is the variable you meant set?): give a token to let it act, " +
          "or none for a read-only inspector"
      })
    }
    const actions = token !== undefined
    const viewers = { count: 0 }
    const store = new Store(system.node, actions)
    // what it starts lives in a scope of its own, closed with the caller's; a start that fails closes it at once (its
    // collector, its feeds and its actors stop: a start again on the same system finds none of them)
    const scope = yield* Scope.fork(yield* Effect.scope)
    const listening = yield* Effect.gen(function* () {
      yield* collect(system, store, { actions, interval: every.value })
      yield* federate(system, store, { actions }).pipe(
        Effect.mapError(
          (error) => new InspectorError({ host, port, detail: `its actors could not start: ${error.message}` })
        )
      )
      return yield* serve(store, {
        host,
        port,
        token,
        viewers,
        act: (action) => (action.node === system.node ? perform(system, action) : actRemotely(system, action))
      }).pipe(
        Effect.mapError(
          (error) => new InspectorError({ host, port, ...TransportError.listenFailure(error.cause, host, port) })
        )
      )
    }).pipe(
      Scope.provide(scope),
      Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void))
    )
    const shown = listening.host.includes(":") ? `[${listening.host}]` : listening.host
    const address = `http://${shown}:${listening.port}/`
    return {
      address,
      url: token === undefined ? address : `${address}#token=${encodeURIComponent(Redacted.value(token))}`,
      state: Effect.sync(() => structuredClone(store.state)),
      viewers: Effect.sync(() => viewers.count)
    }
  })

/** The inspector of the `ActorSystem` in context, as a layer. */
export const layer = (options: Options = {}): Layer.Layer<Inspector, InspectorError, ActorSystem.ActorSystem> =>
  Layer.effect(
    Inspector,
    Effect.flatMap(ActorSystem.ActorSystem, (system) => start(system, options))
  )
