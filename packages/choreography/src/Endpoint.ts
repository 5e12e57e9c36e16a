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
import { Effect, Exit, type Fiber, Schema } from "effect"
import { type FamiliesOf, instantiateSync, type Protocol, type RolesOf } from "./Choreography.ts"
import { memberName } from "./internal/families.ts"
import type { PayloadArgs } from "./internal/typeLevel.ts"
import type { Branch, End, LocalTypeOf, Rec, Receive, Send, Var } from "./LocalType.ts"
import * as Monitor from "./Monitor.ts"

/** An endpoint was used a second time; each step returns the endpoint to use next. */
export class EndpointSpent extends Schema.TaggedError<EndpointSpent>()("EndpointSpent", {
  protocol: Schema.String,
  session: Schema.String,
  role: Schema.String,
  /** The state the spent endpoint stood for. */
  state: Schema.Number
}) {
  override get message(): string {
    return (
      `The endpoint of role ${this.role} in session ${this.session} of ${this.protocol} (state ${this.state}) ` +
      `was already used: use the endpoint returned by the previous step`
    )
  }
}

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

/** Whether an effect is already complete (an `Exit`), so its outcome can be used without running it. */
const isDone = <A, E>(effect: Effect.Effect<A, E>): effect is Exit.Exit<A, E> => Exit.isExit(effect)

/** What the endpoints of one role in one session share: its monitor, its port and each state's kind. */
interface Conversation<E> {
  readonly monitor: Monitor.Monitor
  readonly port: Port<E>
  readonly tags: ReadonlyArray<"Send" | "Receive" | "End">
}

/** An endpoint is small (it is made at every step): its conversation, its state and whether it was used. */
class EndpointImpl<E> implements UntypedEndpoint<E> {
  readonly state: number
  private readonly conversation: Conversation<E>
  private used = false
  constructor(conversation: Conversation<E>, state: number) {
    this.conversation = conversation
    this.state = state
  }

  get _tag(): "Send" | "Receive" | "End" {
    return this.conversation.tags[this.state] ?? "End"
  }

  get role(): string {
    return this.conversation.monitor.role
  }

  /** The monitor that checks this role's moves. */
  get monitor(): Monitor.Monitor {
    return this.conversation.monitor
  }

  private get port(): Port<E> {
    return this.conversation.port
  }

  /** Marks this endpoint used; answers the failure if it already was. */
  private spend(): Effect.Effect<never, EndpointSpent> | undefined {
    if (!this.used) {
      this.used = true
      return undefined
    }
    const m = this.monitor
    return Effect.fail(new EndpointSpent({ protocol: m.protocol, session: m.session, role: m.role, state: this.state }))
  }

  private refuse(violation: Monitor.ProtocolViolation): Effect.Effect<never, Monitor.ProtocolViolation> {
    return Effect.andThen(this.port.violated(violation), Effect.fail(violation))
  }

  send(to: string, label: string, payload?: unknown): Effect.Effect<UntypedEndpoint<E>, Failure<E>> {
    return Effect.withFiber((fiber): Effect.Effect<UntypedEndpoint<E>, Failure<E>> => {
      const spent = this.spend()
      if (spent !== undefined) return spent
      const size = this.monitor.machine.families?.[to]
      if (size !== undefined) return this.broadcast(to, size, label, payload, fiber)
      const next = Monitor.send(this.monitor, this.state, to, label, payload)
      if (Monitor.isViolation(next)) return this.refuse(next)
      const endpoint = new EndpointImpl(this.conversation, next)
      // A port that delivered at once answers with a completed effect: no further step is needed.
      const sent = this.port.send(to, label, payload, next, fiber)
      if (!isDone(sent)) return Effect.as(sent, endpoint)
      return Exit.isSuccess(sent) ? Exit.succeed(endpoint) : (sent as Exit.Exit<never, E>)
    })
  }

  /** A send to a family: one to each member, in member order, each checked by the monitor. */
  private broadcast(
    family: string,
    size: number,
    label: string,
    payload: unknown,
    fiber: Fiber.Fiber<unknown, unknown>
  ): Effect.Effect<UntypedEndpoint<E>, Failure<E>> {
    const sends: Array<Effect.Effect<void, E>> = []
    let state = this.state
    for (let i = 0; i < size; i++) {
      const member = memberName(family, i)
      const next = Monitor.send(this.monitor, state, member, label, payload)
      if (Monitor.isViolation(next)) return this.refuse(next)
      sends.push(Effect.suspend(() => this.port.send(member, label, payload, next, fiber)))
      state = next
    }
    return Effect.as(Effect.all(sends, { discard: true }), new EndpointImpl(this.conversation, state))
  }

  receive(): Effect.Effect<Incoming & { readonly next: UntypedEndpoint<E> }, Failure<E>> {
    return Effect.suspend((): Effect.Effect<Incoming & { readonly next: UntypedEndpoint<E> }, Failure<E>> => {
      const spent = this.spend()
      if (spent !== undefined) return spent
      const from = Monitor.receivesFrom(this.monitor, this.state)
      if (typeof from !== "string") return this.refuse(from)
      const gather = this.monitor.machine.families === undefined ? undefined : firstMember(from)
      if (gather !== undefined && this.monitor.machine.families?.[gather] !== undefined)
        return this.gather(gather, this.monitor.machine.families[gather]!)
      const got = this.port.receive(from, this.state)
      // A message that was waiting already is checked without a further step.
      return isDone(got) && Exit.isSuccess(got)
        ? this.received(got.value)
        : Effect.flatMap(got, (m) => this.received(m))
    })
  }

  /**
   * A receive from a family: one message from each member, taken in member order (each checked by the
   * monitor), answered as one message from the family whose payload lists the members' payloads.
   */
  private gather(
    family: string,
    size: number
  ): Effect.Effect<Incoming & { readonly next: UntypedEndpoint<E> }, Failure<E>> {
    const payloads: Array<unknown> = []
    let label = ""
    let state = this.state
    const takeFrom = (i: number): Effect.Effect<void, Failure<E>> =>
      i === size
        ? Effect.void
        : Effect.flatMap(this.port.receive(memberName(family, i), state), (message) => {
            const next = Monitor.receive(this.monitor, state, message.from, message.label, message.payload)
            if (Monitor.isViolation(next)) return this.refuse(next)
            this.port.received(message, next)
            payloads.push(message.payload)
            label = message.label
            state = next
            return takeFrom(i + 1)
          })
    return Effect.map(takeFrom(0), () => ({
      from: family,
      label,
      payload: payloads,
      next: new EndpointImpl(this.conversation, state)
    }))
  }

  private received(message: Incoming): Effect.Effect<Incoming & { readonly next: UntypedEndpoint<E> }, Failure<E>> {
    const next = Monitor.receive(this.monitor, this.state, message.from, message.label, message.payload)
    if (Monitor.isViolation(next)) return this.refuse(next)
    this.port.received(message, next)
    return Exit.succeed({
      from: message.from,
      label: message.label,
      payload: message.payload,
      next: new EndpointImpl(this.conversation, next)
    })
  }

  close(): Effect.Effect<void, Failure<E>> {
    return Effect.suspend((): Effect.Effect<void, Failure<E>> => {
      const spent = this.spend()
      if (spent !== undefined) return spent
      const done = Monitor.close(this.monitor, this.state)
      return Monitor.isViolation(done) ? this.refuse(done) : this.port.close
    })
  }
}

/** The family of a role named as its first member (`Reviewer[0]` → `Reviewer`). */
const firstMember = (role: string): string | undefined => (role.endsWith("[0]") ? role.slice(0, -3) : undefined)

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
  new EndpointImpl(
    {
      monitor,
      port,
      tags: monitor.machine.states.map((s) => (s.kind === "send" ? "Send" : s.kind === "receive" ? "Receive" : "End"))
    },
    state ?? monitor.start
  )
