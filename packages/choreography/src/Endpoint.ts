/**
 * Endpoints: a role's handle on a session, typed by its local type, so that only the legal next
 * move type-checks.
 *
 * An endpoint in a send state has only `send`, in a receive state only `receive`, at the end only
 * `close`. Each step returns the endpoint for the next state; the old one is spent, and using it
 * again fails with {@link EndpointSpent}. Every move is also checked at run time by the role's
 * `Monitor` before it reaches the session's {@link Port}: a refused move fails with a
 * `ProtocolViolation` (nothing leaves), and a received message the local type does not allow fails
 * the same way.
 *
 * @example
 * ```ts
 * // The seller of Two-Buyer (local type A?title. A!quote. B!quote. A?{buy, cancel}).
 * const seller = (ep: Endpoint.For<typeof TwoBuyer, "S">) =>
 *   Effect.gen(function* () {
 *     const title = yield* ep.receive()               // { from: "A", label: "title", payload: string, next }
 *     const e1 = yield* title.next.send("A", "quote", 42)
 *     const e2 = yield* e1.send("B", "quote", 42)
 *     const decision = yield* e2.receive()
 *     switch (decision.label) {
 *       case "buy":    return yield* decision.next.close()  // decision.payload: string
 *       case "cancel": return yield* decision.next.close()
 *     }
 *   })
 * ```
 *
 * @since 0.1.0
 */
import type { Effect, Fiber, Schema } from "effect"
import { type FamiliesOf, instantiateSync, type Protocol, type RolesOf } from "./Choreography.ts"
import { EndpointImpl, type EndpointSpent, endpointAt } from "./internal/endpointImpl.ts"
import { memberName } from "./internal/families.ts"
import type { PayloadArgs } from "./internal/typeLevel.ts"
import type { Branch, End, LocalTypeOf, Rec, Receive, Send, Var } from "./LocalType.ts"
import * as Monitor from "./Monitor.ts"

export { EndpointSpent } from "./internal/endpointImpl.ts"

/** A message as the session delivers it to the receiving role. */
export interface Incoming {
  readonly from: string
  readonly label: string
  readonly payload: unknown
}

/**
 * What a session runtime provides for one role. Endpoints call it only for moves their monitor
 * allowed, and check what `receive` returns.
 */
export interface Port<E = never> {
  /**
   * Delivers `label(payload)` to the participant playing `to`; `next` is the role's state after the send,
   * and `fiber` the fiber that sends. A port that delivers at once should answer with an `Exit`, which
   * saves the endpoint a step.
   */
  readonly send: (
    to: string,
    label: string,
    payload: unknown,
    next: number,
    fiber: Fiber.Fiber<unknown, unknown>
  ) => Effect.Effect<void, E>
  /**
   * The next message from `from` to this role, which waits for it in `state`. Messages wait in one FIFO
   * queue per sender, so that a message from another sender that arrived first does not break the order
   * of the local type.
   */
  readonly receive: (from: string, state: number) => Effect.Effect<Incoming, E>
  /** The monitor accepted a received message; `next` is the role's state after it. */
  readonly received: (message: Incoming, next: number) => void
  /** This role reached the end of its local type. */
  readonly close: Effect.Effect<void, E>
  /** The monitor refused a move of this role; called before the endpoint fails with the violation. */
  readonly violated: (violation: Monitor.ProtocolViolation) => Effect.Effect<void>
}

/** What an endpoint operation may fail with: the port's errors, a violation, or a spent endpoint. */
export type Failure<E> = E | Monitor.ProtocolViolation | EndpointSpent

type AnyBranch = Branch<string, Schema.Top, unknown>

/**
 * The endpoint for local type `L`, with port errors `E`. `Env` holds the bodies of the enclosing
 * loops (so that `continue` comes back to the right endpoint type).
 */
export type Endpoint<L, E = never, Env = {}> =
  L extends Send<infer Peer, infer B extends AnyBranch>
    ? SendEndpoint<Peer, B, E, Env>
    : L extends Receive<infer Peer, infer B extends AnyBranch>
      ? ReceiveEndpoint<Peer, B, E, Env>
      : L extends Rec<infer X, infer Body>
        ? Endpoint<Body, E, Env & { readonly [K in X]: Body }>
        : L extends Var<infer X>
          ? X extends keyof Env
            ? Endpoint<Env[X], E, Env>
            : UntypedEndpoint<E>
          : L extends End
            ? EndEndpoint<E>
            : UntypedEndpoint<E>

/** The endpoint of `Role` in protocol `P` at its start. */
export type For<P, Role extends RolesOf<P>, E = never> = Endpoint<LocalTypeOf<P, Role>, E>

type BranchOf<B, Label> = Extract<B, { readonly label: Label }>

type TypeName<T> = [T] extends [void]
  ? ""
  : [T] extends [string]
    ? "string"
    : [T] extends [number]
      ? "number"
      : [T] extends [boolean]
        ? "boolean"
        : [T] extends [ReadonlyArray<unknown>]
          ? "array"
          : "object"

type Alternative<B> = B extends Branch<infer L, infer P, unknown> ? `${L}(${TypeName<P["Type"]>})` : never

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never
type LastOf<U> = UnionToIntersection<U extends unknown ? () => U : never> extends () => infer L ? L : never
/** The members of a union of strings, joined by ", ". */
type Join<U, Done extends string = ""> = [U] extends [never]
  ? Done
  : LastOf<U> extends infer L extends string
    ? Join<Exclude<U, L>, Done extends "" ? L : `${L}, ${Done}`>
    : Done

/**
 * What a role may do in a state, as the type of `this` of the moves it may not make: calling one fails to
 * compile with "The 'this' context … is not assignable to method's 'this' of type 'expected one of: …'",
 * naming the legal moves, and the rest of the program goes on untyped (one mistake, one error).
 */
export type Expected<Moves extends string> = `expected one of: ${Moves}`

type SendMoves<Peer extends string, B> = Join<B extends unknown ? `send ${Alternative<B>} to ${Peer}` : never>
type ReceiveMoves<Peer extends string, B> = Join<B extends unknown ? `receive ${Alternative<B>} from ${Peer}` : never>

/** A move the state does not allow, typed so that the error names the moves it allows (see {@link Expected}). */
interface Refused<E, Moves extends string> {
  send(
    this: Expected<Moves>,
    to: string,
    label: string,
    payload?: unknown
  ): Effect.Effect<UntypedEndpoint<E>, Failure<E>>
  receive(this: Expected<Moves>): Effect.Effect<Incoming & { readonly next: UntypedEndpoint<E> }, Failure<E>>
  close(this: Expected<Moves>): Effect.Effect<void, Failure<E>>
}

/** In a send state: send one of the labels the local type offers, to its peer. */
export interface SendEndpoint<Peer extends string, B extends AnyBranch, E, Env> {
  readonly _tag: "Send"
  readonly role: string
  /** The monitor that checks this role's moves (its session, protocol and state machine). */
  readonly monitor: Monitor.Monitor
  /** The state of the role's state machine this endpoint stands for. */
  readonly state: number
  /** Sends `label(payload)` to `to`; the payload may be left out when its schema is `Schema.Void`. */
  send<const Label extends B["label"]>(
    to: Peer,
    label: Label,
    ...payload: PayloadArgs<BranchOf<B, Label>["payload"]["Type"]>
  ): Effect.Effect<Endpoint<BranchOf<B, Label>["next"], E, Env>, Failure<E>>
  /** Not a move of this state: the compile error names the moves that are (see {@link Expected}). */
  send(
    this: Expected<SendMoves<Peer, B>>,
    to: string,
    label: string,
    payload?: unknown
  ): Effect.Effect<UntypedEndpoint<E>, Failure<E>>
  /** Not a move of this state: the compile error names the moves that are (see {@link Expected}). */
  receive: Refused<E, SendMoves<Peer, B>>["receive"]
  /** Not a move of this state: the compile error names the moves that are (see {@link Expected}). */
  close: Refused<E, SendMoves<Peer, B>>["close"]
}

/** One message a receive may return: switch on `label` to narrow `payload` and `next`. */
export type Received<Peer extends string, B, E, Env> =
  B extends Branch<infer Label, infer P, infer N>
    ? {
        readonly from: Peer
        readonly label: Label
        readonly payload: P["Type"]
        readonly next: Endpoint<N, E, Env>
      }
    : never

/** In a receive state: wait for the next message from the peer. */
export interface ReceiveEndpoint<Peer extends string, B extends AnyBranch, E, Env> {
  readonly _tag: "Receive"
  readonly role: string
  /** The monitor that checks this role's moves (its session, protocol and state machine). */
  readonly monitor: Monitor.Monitor
  readonly state: number
  /** The next message from the peer, as a union discriminated by `label`. */
  receive(): Effect.Effect<Received<Peer, B, E, Env>, Failure<E>>
  /** Not a move of this state: the compile error names the moves that are (see {@link Expected}). */
  send: Refused<E, ReceiveMoves<Peer, B>>["send"]
  /** Not a move of this state: the compile error names the moves that are (see {@link Expected}). */
  close: Refused<E, ReceiveMoves<Peer, B>>["close"]
}

/** At the end: close the endpoint. */
export interface EndEndpoint<E> {
  readonly _tag: "End"
  readonly role: string
  /** The monitor that checks this role's moves (its session, protocol and state machine). */
  readonly monitor: Monitor.Monitor
  readonly state: number
  /** Leaves the session: this role is done. */
  close(): Effect.Effect<void, Failure<E>>
  /** Not a move of this state: the compile error names the moves that are (see {@link Expected}). */
  send: Refused<E, "close() (the role is done)">["send"]
  /** Not a move of this state: the compile error names the moves that are (see {@link Expected}). */
  receive: Refused<E, "close() (the role is done)">["receive"]
}

/**
 * An endpoint with untyped moves, for roles whose moves are chosen at run time (or where the
 * compile-time projection gives up). The monitor checks every move all the same.
 */
export interface UntypedEndpoint<E = never> {
  readonly _tag: "Send" | "Receive" | "End"
  readonly role: string
  /** The monitor that checks this role's moves (its session, protocol and state machine). */
  readonly monitor: Monitor.Monitor
  readonly state: number
  send(to: string, label: string, payload?: unknown): Effect.Effect<UntypedEndpoint<E>, Failure<E>>
  receive(): Effect.Effect<Incoming & { readonly next: UntypedEndpoint<E> }, Failure<E>>
  close(): Effect.Effect<void, Failure<E>>
}

/** Whether a value is an endpoint (of any state). */
export const isEndpoint = (u: unknown): u is UntypedEndpoint<unknown> => u instanceof EndpointImpl

/** The endpoint of `role` in a session of `protocol`, at the start of its local type and typed by it. */
export const make = <P extends Protocol, Role extends RolesOf<P>, E = never>(
  protocol: P,
  role: Role,
  options: {
    readonly session: string
    readonly port: Port<E>
    /** For a protocol with families: the number of members of each family in this session. */
    readonly sizes?: { readonly [F in FamiliesOf<P>]: number }
    /** For a member of a family: its index (from 0). */
    readonly member?: number
  }
): For<P, Role, E> => {
  if (protocol.families.size === 0) return untyped(Monitor.make(protocol, role, options.session), options.port) as never
  const instance = instantiateSync(protocol, options.sizes ?? {})
  if (instance._tag !== "Protocol") throw instance
  const name = options.member === undefined ? role : memberName(role, options.member)
  const machine = instance.machines.get(name)
  if (machine === undefined)
    throw new Error(`Role "${name}" is not a role of protocol "${protocol.name}" with these sizes`)
  return untyped(Monitor.fromMachine(machine, options.session), options.port) as never
}

/**
 * An endpoint with untyped moves for the role and session of `monitor` (see {@link UntypedEndpoint}),
 * at `state` (default: the start; another state resumes a role from a checkpoint).
 */
export const untyped = <E = never>(monitor: Monitor.Monitor, port: Port<E>, state?: number): UntypedEndpoint<E> =>
  endpointAt(monitor, port, state ?? monitor.start)
