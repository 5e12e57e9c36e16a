/**
 * The endpoints at run time: one small object per step, which checks each move with the role's monitor
 * before it reaches the session's port, and fails with `EndpointSpent` when used twice.
 */
import { Effect, Exit, type Fiber, Schema } from "effect"
import type { Failure, Incoming, Port, UntypedEndpoint } from "../Endpoint.ts"
import * as Monitor from "../Monitor.ts"
import { memberName } from "./families.ts"

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

/** Whether an effect is already complete (an `Exit`), so its outcome can be used without running it. */
const isDone = <A, E>(effect: Effect.Effect<A, E>): effect is Exit.Exit<A, E> => Exit.isExit(effect)

/** What the endpoints of one role in one session share: its monitor, its port and each state's kind. */
interface Conversation<E> {
  readonly monitor: Monitor.Monitor
  readonly port: Port<E>
  readonly tags: ReadonlyArray<"Send" | "Receive" | "End">
  /** The sizes of the families, in an instance of a protocol with families (see `StateMachine.families`). */
  readonly families: Readonly<Record<string, number>> | undefined
}

/** An endpoint is small (it is made at every step): its conversation, its state and whether it was used. */
export class EndpointImpl<E> implements UntypedEndpoint<E> {
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
    return this.spent()
  }

  /** The failure of a second use of this endpoint. */
  private spent(): Effect.Effect<never, EndpointSpent> {
    const m = this.monitor
    return Effect.fail(new EndpointSpent({ protocol: m.protocol, session: m.session, role: m.role, state: this.state }))
  }

  private refuse(violation: Monitor.ProtocolViolation): Effect.Effect<never, Monitor.ProtocolViolation> {
    return Effect.andThen(this.port.violated(violation), Effect.fail(violation))
  }

  send(to: string, label: string, payload?: unknown): Effect.Effect<UntypedEndpoint<E>, Failure<E>> {
    return Effect.withFiber((fiber) => this.sendNow(to, label, payload, fiber))
  }

  /** The send, run in the sending fiber: checked, handed to the port, answered with the next endpoint. */
  private sendNow(
    to: string,
    label: string,
    payload: unknown,
    fiber: Fiber.Fiber<unknown, unknown>
  ): Effect.Effect<UntypedEndpoint<E>, Failure<E>> {
    if (this.used) return this.spent()
    this.used = true
    const conversation = this.conversation
    const size = conversation.families?.[to]
    if (size !== undefined) return this.broadcast(to, size, label, payload, fiber)
    const next = Monitor.send(conversation.monitor, this.state, to, label, payload)
    if (typeof next !== "number") return this.refuse(next)
    const endpoint = new EndpointImpl(conversation, next)
    // A port that delivered at once answers with a completed effect: no further step is needed.
    const sent = conversation.port.send(to, label, payload, next, fiber)
    if (sent === Effect.void) return Exit.succeed(endpoint)
    if (!isDone(sent)) return Effect.as(sent, endpoint)
    return Exit.isSuccess(sent) ? Exit.succeed(endpoint) : (sent as Exit.Exit<never, E>)
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
      const families = this.conversation.families
      const family = families === undefined ? undefined : firstMember(from)
      if (family !== undefined && families?.[family] !== undefined) return this.gather(family, families[family])
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

type Tags = ReadonlyArray<"Send" | "Receive" | "End">

/** Each state's kind, made once per machine (a live session's endpoint keeps no list of its own). */
const tagsOfMachine = new WeakMap<Monitor.Monitor["machine"], Tags>()

const tagsOf = (machine: Monitor.Monitor["machine"]): Tags => {
  let tags = tagsOfMachine.get(machine)
  if (tags === undefined) {
    tags = machine.states.map((s) => (s.kind === "send" ? "Send" : s.kind === "receive" ? "Receive" : "End"))
    tagsOfMachine.set(machine, tags)
  }
  return tags
}

/** The endpoint at `state` of the role and session of `monitor` (see `Endpoint.untyped`). */
export const endpointAt = <E>(monitor: Monitor.Monitor, port: Port<E>, state: number): UntypedEndpoint<E> =>
  new EndpointImpl({ monitor, port, families: monitor.machine.families, tags: tagsOf(monitor.machine) }, state)
