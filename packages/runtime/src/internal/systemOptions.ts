/**
 * An actor system's options (and a spawn's): what each means and its default, how the ones whose types do not say all
 * are checked ({@link checkOptions}), and the settings the system runs with ({@link settingsOf}). `ActorSystem`
 * exports the options' types and `InvalidSystemOptions`.
 */
import type { Transport } from "@troupe/transport"
import { Duration, Effect, type Layer, Schema } from "effect"
import { badDuration } from "../Durations.ts"
import * as Mailbox from "../Mailbox.ts"
import * as RemoteAccess from "../RemoteAccess.ts"
import * as Supervisor from "../Supervisor.ts"

/** Settings of a system, resolved from the user's options. */
export interface Settings {
  readonly name: string
  readonly node: string
  readonly guardian: Supervisor.Strategy
  readonly mailbox: Mailbox.Config
  readonly askTimeoutMillis: number
  readonly shutdownTimeoutMillis: number
  readonly tracing: boolean
  /** What other nodes may do here. */
  readonly remoteAccess: RemoteAccess.RemoteAccess
  /** How many sessions may be joining their roles at once (see `choreography/internal/sessionAdmission.ts`). */
  readonly maxJoiningSessions: number
}

/** How an actor is spawned. */
export interface SpawnOptions {
  /** Its name among its siblings (letters, digits and `_.~@:+=-`); a fresh `$n` otherwise. */
  readonly name?: string
  /** Its mailbox; the system's default otherwise (1024 messages, suspend the sender when full). */
  readonly mailbox?: Mailbox.Config
  /** When its supervisor restarts it; `"transient"` (after failures only) by default. */
  readonly restart?: Supervisor.RestartPolicy
  /**
   * How long it may take to finish its current message when stopped, before it is interrupted; a handler that
   * has not ended as long again after that (an uninterruptible region) is left running and reported
   * (`StopTimedOut`), and the stop goes on. In the system's shutdown, its resources' release gets as long
   * again (then likewise).
   */
  readonly shutdownTimeout?: Duration.Input
}

/** Options of an actor system; every field has a default. */
export interface Options<E = never> {
  /**
   * The transport that connects this node to others, e.g. `WebSocket.layer({ node: "alice", listen: { port: 7000 } })`.
   * It is built in the system's scope and closed after the system. Without it, the system uses the transport
   * found in the context, if any, and otherwise stays on its own.
   */
  readonly transport?: Layer.Layer<Transport.Transport, E>
  /** The system's name, for logs and errors. Default `"troupe"`. */
  readonly name?: string
  /** This node's id. Default: the system's name. */
  readonly node?: string
  /** How the root guardian supervises top-level actors. Default {@link Supervisor.defaultStrategy}. */
  readonly guardian?: Supervisor.Strategy
  /** The default mailbox of actors. Default {@link Mailbox.defaultConfig}. */
  readonly mailbox?: Mailbox.Config
  /** The default deadline of an ask. Default 5 seconds. */
  readonly askTimeout?: Duration.Input
  /** The default time an actor has to finish its current message when stopped. Default 5 seconds. */
  readonly shutdownTimeout?: Duration.Input
  /**
   * Whether each handled message runs in a span named `<actor>.<tag>`. Default: on when a tracer other
   * than Effect's built-in one is installed and tracing is enabled.
   */
  readonly tracing?: boolean
  /**
   * What other nodes may do on this one: which actors they may reach by path, and under which receptionist
   * keys and topics they may list theirs. Default: everything (see {@link RemoteAccess}).
   */
  readonly remoteAccess?: RemoteAccess.RemoteAccess
  /**
   * How many sessions may be joining their roles at once on this system: their joins asked and not all answered.
   * Plain sessions (`Session.start`, `Session.run`) and durable ones (`DurableSession`, until the session began:
   * its Joins and the Join that says it began) share the places; so do the coordinators of sessions with sharded
   * roles that this runner hosts. The others wait in line, in order; one that waits longer than `askTimeout` (a
   * durable session: longer than its own `deadline`) fails with `SessionOverloaded` before anything is done or
   * stored for it. Coordinators of sessions stored already (`DurableSession.recover`, sharded sessions) wait as long
   * as it takes. See "Sessions under overload" in docs/choreography.md. A whole number, 1 or more. Default 256.
   *
   * @example
   * ```ts
   * ActorSystem.layer({ maxJoiningSessions: 1024 }) // a host with cores to spare for joins
   * ```
   */
  readonly maxJoiningSessions?: number
}

/** An option of an actor system has a value it cannot take: which one, and what it must be. */
export class InvalidSystemOptions extends Schema.TaggedError<InvalidSystemOptions>()("InvalidSystemOptions", {
  option: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `The actor system's option ${this.option} is invalid: ${this.detail}`
  }
}

/** A whole number of at least 1: the bounds among the options. */
const Bound = Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1)))

/** The options checked by a Schema when a system is made (the others are checked by their types), by name. */
const checkedBounds = (options: Options<unknown>) =>
  [
    ["maxJoiningSessions", options.maxJoiningSessions],
    ["remoteAccess.maxListingsPerNode", options.remoteAccess?.maxListingsPerNode],
    ["remoteAccess.maxListings", options.remoteAccess?.maxListings],
    ["remoteAccess.maxJoinsNotBegun", options.remoteAccess?.maxJoinsNotBegun],
    ["remoteAccess.maxSessions", options.remoteAccess?.maxSessions]
  ] as const

/**
 * Checks the options whose types do not say all before anything of the system is made: the bounds (decoded with
 * {@link Bound}) and the durations (`askTimeout`, `shutdownTimeout`). `InvalidSystemOptions` names the first that
 * is not what it should be.
 *
 * @example
 * ```ts
 * yield* checkOptions({ maxJoiningSessions: 0 }) // fails: InvalidSystemOptions, option "maxJoiningSessions"
 * yield* checkOptions({ askTimeout: "5 sec0" }) // fails: InvalidSystemOptions, option "askTimeout"
 * ```
 */
export const checkOptions = (options: Options<unknown>): Effect.Effect<void, InvalidSystemOptions> =>
  Effect.forEach(
    checkedBounds(options),
    ([option, value]) =>
      value === undefined
        ? Effect.void
        : Schema.decodeUnknownEffect(Bound)(value).pipe(
            Effect.mapError(
              (error) =>
                new InvalidSystemOptions({
                  option,
                  detail: `${String(value)} is not a whole number of at least 1 (${error.message})`
                })
            )
          ),
    { discard: true }
  ).pipe(
    Effect.andThen(() => {
      const bad = badDuration([
        ["askTimeout", options.askTimeout],
        ["shutdownTimeout", options.shutdownTimeout]
      ])
      return bad === undefined
        ? Effect.void
        : Effect.fail(new InvalidSystemOptions({ option: bad.option, detail: `it ${bad.detail}` }))
    })
  )

/**
 * The settings a system runs with: its options, each with its default (`tracing`: whether spans are on when the
 * options do not say), once its name and node are known.
 *
 * @example
 * ```ts
 * const settings = settingsOf({ askTimeout: "1 second" }, { name: "troupe", node: "troupe", tracing: false })
 * settings.askTimeoutMillis // 1000
 * ```
 */
export const settingsOf = (
  options: Options<unknown>,
  known: { readonly name: string; readonly node: string; readonly tracing: boolean }
): Settings => ({
  name: known.name,
  node: known.node,
  guardian: options.guardian ?? Supervisor.defaultStrategy,
  mailbox: options.mailbox ?? Mailbox.defaultConfig,
  askTimeoutMillis: Duration.toMillis(options.askTimeout ?? "5 seconds"),
  shutdownTimeoutMillis: Duration.toMillis(options.shutdownTimeout ?? "5 seconds"),
  tracing: options.tracing ?? known.tracing,
  remoteAccess: options.remoteAccess ?? RemoteAccess.all,
  maxJoiningSessions: options.maxJoiningSessions ?? 256
})
