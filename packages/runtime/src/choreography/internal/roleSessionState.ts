/**
 * What a role session holds besides its monitor, peers and trace, kept small (a live session is mostly this): its
 * flags as the bits of one number, and what few sessions have in one object made when the first is set.
 */
import type { Monitor } from "@troupe/choreography"
import type { Cause, Tracer } from "effect"
import type { DurableRole } from "../../durable/internal/durableRole.ts"
import type { Checkpoint } from "./roleCheckpoint.ts"
import type { Peer } from "./rolePeers.ts"

// A role session's flags, as the bits of one number (a live session keeps one field, not four).
const BEGUN = 1
const RUNNING = 2
const ENDED = 4
const RESUMED = 8

/** How many trace events a role keeps by default (see `Session.Options.traceLimit`). */
export const defaultTraceLimit = 1000

/**
 * What few role sessions have, in one object made when the first is set (a live session of the common kind keeps
 * one empty field instead of eight).
 */
export class Rare {
  stepTimeoutMillis: number | undefined = undefined
  traceLimit: number | undefined = undefined
  /** The peers by role, in a session of many roles (see `rolePeers.ts`). */
  peerIndex: ReadonlyMap<string, Peer> | undefined = undefined
  checkpoint: Checkpoint | undefined = undefined
  durable: DurableRole | undefined = undefined
  span: Tracer.Span | undefined = undefined
  crash: Cause.Cause<unknown> | undefined = undefined
  held: Held | undefined = undefined
  /**
   * In a durable session: messages that came ahead of the next one from their sender, until the ones between come
   * (see `RoleSession.deliver`).
   */
  ahead: Array<Ahead> | undefined = undefined
}

/** A session message as a role holds it ahead of the next one from its sender (its `Deliver`). */
export interface Ahead {
  readonly from: string
  readonly seq: number
}

/**
 * What a role of a session held by a lease (sharded roles) knows from its coordinator's last Join: how often Joins
 * come, and which roles the coordinator could not reach then (see `roleWait.ts`).
 */
export interface Held {
  readonly everyMillis: number
  unreachable: ReadonlyArray<string>
  /** When the last Join came (the system's clock). */
  heardAt: number
}

/**
 * The state of a role session (see `RoleSession`, which extends it): flags and rare fields behind accessors.
 *
 * @example
 * // session.begun = true; session.durable // undefined unless the session is durable
 */
export abstract class RoleSessionState {
  abstract readonly monitor: Monitor.Monitor
  /** `BEGUN`, `RUNNING`, `ENDED`, `RESUMED` (see their accessors). */
  private flags = 0
  /** What few sessions have (see `Rare`), made when the first is set. */
  protected rare: Rare | undefined = undefined

  protected rareOnes(): Rare {
    return (this.rare ??= new Rare())
  }

  /** Keeps a message that came ahead of the next one from its sender (a durable session; see `RoleSession.deliver`). */
  protected holdAhead(message: Ahead): void {
    const ahead = (this.rareOnes().ahead ??= [])
    if (!ahead.some((m) => m.from === message.from && m.seq === message.seq)) ahead.push(message)
  }

  /** The message from `from` that was held after number `seq`, if it was (those up to `seq` are dropped). */
  protected takeAhead(from: string, seq: number): Ahead | undefined {
    const rare = this.rare!
    let next: Ahead | undefined
    rare.ahead = rare.ahead!.filter((m) => {
      if (m.from !== from || m.seq > seq + 1) return true
      if (m.seq === seq + 1) next = m
      return false
    })
    if (rare.ahead.length === 0) rare.ahead = undefined
    return next
  }

  /** The session's id. */
  get id(): string {
    return this.monitor.session
  }

  /** How long the program may wait for its next message, if the session limits it. */
  get stepTimeoutMillis(): number | undefined {
    return this.rare?.stepTimeoutMillis
  }

  /** In a durable session: the role's log in storage. */
  get durable(): DurableRole | undefined {
    return this.rare?.durable
  }
  set durable(durable: DurableRole | undefined) {
    this.rareOnes().durable = durable
  }

  /** The span of the program's run, when the system traces. */
  get span(): Tracer.Span | undefined {
    return this.rare?.span
  }
  set span(span: Tracer.Span | undefined) {
    if (span !== undefined || this.rare !== undefined) this.rareOnes().span = span
  }

  /** The failure of a restartable role's program, until the actor crashes with it. */
  get crash(): Cause.Cause<unknown> | undefined {
    return this.rare?.crash
  }
  set crash(cause: Cause.Cause<unknown> | undefined) {
    if (cause !== undefined || this.rare !== undefined) this.rareOnes().crash = cause
  }

  /** In a session held by a lease: what the coordinator's last Join said (see `Held`). */
  get held(): Held | undefined {
    return this.rare?.held
  }
  set held(held: Held | undefined) {
    if (held !== undefined || this.rare !== undefined) this.rareOnes().held = held
  }

  /** A restartable role's checkpoint (see `roleCheckpoint.ts`). */
  protected get checkpoint(): Checkpoint | undefined {
    return this.rare?.checkpoint
  }

  protected get traceLimit(): number {
    return this.rare?.traceLimit ?? defaultTraceLimit
  }

  /** Whether the session began (every role joined). */
  get begun(): boolean {
    return (this.flags & BEGUN) !== 0
  }
  set begun(on: boolean) {
    this.flag(BEGUN, on)
  }

  /** Whether the role's program runs. */
  get running(): boolean {
    return (this.flags & RUNNING) !== 0
  }
  set running(on: boolean) {
    this.flag(RUNNING, on)
  }

  /** Whether the role left the session. */
  get ended(): boolean {
    return (this.flags & ENDED) !== 0
  }
  set ended(on: boolean) {
    this.flag(ENDED, on)
  }

  /** Whether this run of the program resumes the role after its actor was restarted (`Context.resumed`). */
  get resumed(): boolean {
    return (this.flags & RESUMED) !== 0
  }
  set resumed(on: boolean) {
    this.flag(RESUMED, on)
  }

  private flag(bit: number, on: boolean): void {
    this.flags = on ? this.flags | bit : this.flags & ~bit
  }
}
