/** The context a role's program runs with (see `Participant.Context`). */
import type { Endpoint } from "@troupe/choreography"
import type { Effect, Scope } from "effect"
import type { ActorContext } from "../../Behavior.ts"
import type { CurrentRole } from "./currentRole.ts"
import type { Context, Failure } from "./participant.ts"
import type { RoleSession } from "./roleSession.ts"
import type { ParticipantProtocol } from "./sessionProtocols.ts"

/**
 * What a role's program gets besides its endpoint, and what its fiber knows of the role (`CurrentRole`): one
 * object per run of the program, whose functions are made when they are read (a live session keeps none).
 */
export class RoleContext implements Context, CurrentRole {
  readonly member: Context["member"]
  readonly resumed: boolean
  readonly actor: ActorContext<ParticipantProtocol>
  /** The session this run plays. */
  readonly of: RoleSession
  private readonly endpoint: Endpoint.UntypedEndpoint<Failure>
  /** The actor's scope when the run began (it is closed when the actor stops or restarts). */
  readonly scope: Scope.Scope

  constructor(of: RoleSession, resumed: boolean, endpoint: Endpoint.UntypedEndpoint<Failure>, scope: Scope.Scope) {
    this.of = of
    this.member = of.member()
    this.resumed = resumed
    this.actor = of.participant.ctx
    this.endpoint = endpoint
    this.scope = scope
  }

  /** Runs the role's program (see `runRole`). */
  run(): Effect.Effect<unknown, unknown> {
    return this.of.participant.spec.program(this.endpoint, this)
  }

  // read from the session (a live session keeps one copy of each)
  get session(): string {
    return this.of.id
  }

  get protocol(): string {
    return this.of.monitor.protocol
  }

  get role(): string {
    return this.of.role
  }

  get path(): string {
    return this.of.participant.self.path
  }

  get once(): Context["once"] {
    const of = this.of
    return (effect) => of.once(effect)
  }

  get note(): CurrentRole["note"] {
    const of = this.of
    return (text) => of.note(text)
  }
}
