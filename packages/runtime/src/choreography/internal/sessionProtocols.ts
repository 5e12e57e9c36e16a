/**
 * The actor protocols of sessions: what a participant (one per role of a choreography) and a session's
 * coordinator accept. Every message is a Schema, so it crosses the wire between nodes. The schema of a
 * session message (`Deliver`) is a union with one member per sender and label the receiving role may
 * receive, so that each payload is encoded with its own label's schema on the wire (and not at all
 * between actors of one process).
 */

import { type Choreography as C, Diagram } from "@troupe/choreography"
import { Schema } from "effect"
import * as ActorRef from "../../ActorRef.ts"
import * as Protocol from "../../Protocol.ts"
import { AbortCause, ParticipantFailed, SessionJoinRefused } from "./sessionErrors.ts"

type Choreography = C.Protocol
const TraceEvent = Diagram.TraceEvent

const Session = Schema.String
const Trace = Schema.Array(TraceEvent)
const Counts = Schema.Record(Schema.String, Schema.Number)
type Codec<A> = Schema.Codec<A, unknown>

const participantDefinition = (
  roles: Codec<Readonly<Record<string, ActorRef.ActorRef<Protocol.Any>>>>,
  coordinator: Codec<ActorRef.ActorRef<Protocol.Any>>
) => ({
  /**
   * Joins the session: the participant registers it and watches the coordinator; the reply says it is ready,
   * and whether it resumed a durable session that began from the log (then its peers send it again what they
   * sent it). It fails with `SessionJoinRefused` when the participant holds too many sessions not begun, and with
   * `ParticipantFailed` when it cannot join a durable session (it was spawned with no Storage).
   */
  Join: Protocol.request(
    {
      session: Session,
      roles,
      coordinator,
      stepTimeoutMillis: Schema.optionalKey(Schema.Number),
      traceLimit: Schema.Number,
      /** In a session of a protocol with families: the role this participant plays (`Reviewer[2]`)... */
      member: Schema.optionalKey(Schema.String),
      /** ...and the number of members of each family (see `Choreography.instantiate`). */
      sizes: Schema.optionalKey(Schema.Record(Schema.String, Schema.Number)),
      /**
       * A durable session: the role's log is in storage, a node may be gone for `deadlineMillis`, and a Join of
       * a session the participant does not hold (after its node restarted) resumes the role from its log.
       */
      durable: Schema.optionalKey(
        Schema.Struct({
          deadlineMillis: Schema.Number,
          begun: Schema.Boolean,
          /** A role that resumed from the log: send it again every message sent to it (it drops what it has). */
          resendTo: Schema.optionalKey(Schema.String),
          /**
           * Roles held by a lease (sharded actors): how often the coordinator asks each role to join again, and the
           * roles it cannot reach now (their runner died, their shard has no owner yet). The role's step deadline
           * does not count while any is unreachable, nor while the coordinator itself is silent (no Join for three
           * lease periods); the session's deadline bounds both.
           */
          lease: Schema.optionalKey(
            Schema.Struct({ everyMillis: Schema.Number, unreachable: Schema.Array(Schema.String) })
          )
        })
      )
    },
    { success: Schema.Boolean, failure: Schema.Union([SessionJoinRefused, ParticipantFailed]) }
  ),
  /** Every role joined: start the role's program. */
  Begin: { session: Session },
  /**
   * A message of the session from another role, numbered per ordered pair of roles from 1. (These fields
   * give its type; its schema is the union made by `deliverSchema`.)
   */
  Deliver: { session: Session, seq: Schema.Number, from: Schema.String, label: Schema.String, payload: Schema.Unknown },
  /**
   * The session was aborted: stop the role and answer `Left`. A participant that does not hold the session (its
   * actor was activated anew: passivated, moved, restarted) answers `Left` at once, as `role`, to `coordinator`.
   */
  Abort: {
    session: Session,
    cause: AbortCause,
    role: Schema.optionalKey(Schema.String),
    coordinator: Schema.optionalKey(coordinator)
  },
  /** The session's coordinator terminated (sent by death watch). */
  CoordinatorDown: { session: Session },
  /** To self: the role's program failed; crash the actor so that its supervisor restarts it. */
  Crash: { session: Session },
  /** To self, after `Crash`: resume the role if the actor was resumed rather than restarted. */
  Resume: { session: Session }
})

/** What a participant accepts (the same for every role; the schemas of `Deliver` and `Join` differ). */
export type ParticipantDefinition = ReturnType<typeof participantDefinition>

/** The actor protocol of the participants of one role. */
export type ParticipantProtocol = Protocol.Protocol<ParticipantDefinition>

const coordinatorDefinition = {
  /** A role completed with `result` (JSON has no undefined: a result that is nothing travels as an absent key). */
  Done: {
    session: Session,
    role: Schema.String,
    result: Schema.optionalKey(Schema.Unknown),
    trace: Trace,
    /** How many session messages the role sent to each peer, and received from each (by the time it ended). */
    sent: Schema.optionalKey(Counts),
    received: Schema.optionalKey(Counts)
  },
  /** A role aborts the session with `cause`. */
  Abort: { session: Session, role: Schema.String, cause: AbortCause, trace: Trace },
  /** A role left an aborted session. */
  Left: { session: Session, role: Schema.String, trace: Trace },
  /**
   * A role of a durable session: its node's link to `node` ended (the node was declared down, and may live):
   * what it and the roles there sent each other may be lost.
   */
  Relink: { session: Session, role: Schema.String, node: Schema.String },
  /** To self: a role joined the session. */
  Joined: { role: Schema.String },
  /** The starter cancels the session. */
  Cancel: { reason: Schema.String },
  /** To self: the time for roles to leave an aborted session is up. */
  Expire: {},
  /** To a sharded session's coordinator: be active (activating it starts or resumes its session). */
  Wake: {}
}

/** What a session's coordinator accepts. */
export type CoordinatorDefinition = typeof coordinatorDefinition

/** The actor protocol of a session's coordinator. */
export type CoordinatorProtocol = Protocol.Protocol<CoordinatorDefinition>

/** The actor protocols of a choreography's sessions. */
export interface Protocols {
  readonly participants: ReadonlyMap<string, ParticipantProtocol>
  readonly coordinator: CoordinatorProtocol
}

const cache = new WeakMap<Choreography, Protocols>()

/** The actor protocols of the sessions of `choreography`, made once. */
export const protocolsOf = (choreography: Choreography): Protocols => {
  let protocols = cache.get(choreography)
  if (protocols !== undefined) return protocols
  const participants = new Map<string, ParticipantProtocol>()
  const coordinator = Protocol.make(`Session(${choreography.name})`, coordinatorDefinition)
  const refOf = (role: string) => Schema.suspend(() => ActorRef.schema(participants.get(role)!))
  const singles = choreography.roles.filter((role) => !choreography.families.has(role))
  // The members of a family (`Reviewer[0]`, `Reviewer[1]`, …) are played by participants of the family's role.
  const members = [...choreography.families].map((family) => Schema.Record(memberKey(family), refOf(family)))
  const struct = Schema.Struct(Object.fromEntries(singles.map((role) => [role, refOf(role)])))
  const roles = members.length === 0 ? struct : Schema.StructWithRest(struct, members)
  for (const role of choreography.roles) {
    const definition = participantDefinition(
      roles as unknown as Codec<Readonly<Record<string, ActorRef.ActorRef<Protocol.Any>>>>,
      ActorRef.schema(coordinator) as unknown as Codec<ActorRef.ActorRef<Protocol.Any>>
    )
    const protocol = Protocol.make(`${choreography.name}/${role}`, definition)
    const messageSchemas = { ...protocol.messageSchemas, Deliver: deliverSchema(choreography, role) }
    participants.set(
      role,
      Object.assign(protocol, {
        messageSchemas,
        schema: Schema.Union(Object.values(messageSchemas)) as unknown as Protocol.WireSchema
      })
    )
  }
  protocols = { participants, coordinator }
  cache.set(choreography, protocols)
  return protocols
}

/** The schema of the session messages `role` may receive: one member per sender and label. */
const deliverSchema = (choreography: Choreography, role: string): Protocol.WireSchema => {
  const seen: Array<{ readonly peer: string; readonly label: string; readonly payload: Schema.Top }> = []
  for (const state of choreography.machines.get(role)!.states)
    for (const t of state.transitions)
      if (
        t.direction === "receive" &&
        !seen.some((s) => s.peer === t.peer && s.label === t.label && s.payload === t.payload)
      )
        seen.push(t)
  const members = seen.map((t) =>
    Schema.TaggedStruct("Deliver", {
      session: Session,
      seq: Schema.Number,
      from: choreography.families.has(t.peer) ? memberKey(t.peer) : Schema.Literal(t.peer),
      label: Schema.Literal(t.label),
      // JSON has no undefined: a void payload travels as an absent key
      payload: isVoid(t.payload) ? Schema.optionalKey(t.payload) : t.payload
    })
  )
  // Last, any other message: it reaches the role, whose monitor refuses it with a ProtocolViolation that
  // aborts the session (dropping it here as undecodable would leave the session waiting).
  const other = Schema.TaggedStruct("Deliver", {
    session: Session,
    seq: Schema.Number,
    from: Schema.String,
    label: Schema.String,
    payload: Schema.optionalKey(Schema.Unknown)
  })
  return Schema.Union([...members, other]) as unknown as Protocol.WireSchema
}

/** The role names of the members of `family`: `Family[0]`, `Family[1]`, … */
const memberKey = (family: string) => Schema.TemplateLiteral([`${family}[`, Schema.Int, "]"])

const isVoid = (schema: Schema.Top): boolean => schema.ast._tag === "Void" || schema.ast._tag === "Undefined"
