/** The context a role's program runs with (see `Participant.Context`), and how its run starts and ends. */
import type { Endpoint } from "@troupe/choreography"
import { Effect, type Exit, type Scope } from "effect"
import type { ActorContext } from "../../Behavior.ts"
import { CurrentRole } from "./currentRole.ts"
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
  private readonly of: RoleSession
  private readonly endpoint: Endpoint.UntypedEndpoint<Failure>
  /** The actor's scope when the run began (it is closed when the actor stops or restarts). */
  private readonly scope: Scope.Scope

  constructor(of: RoleSession, resumed: boolean, endpoint: Endpoint.UntypedEndpoint<Failure>, scope: Scope.Scope) {
    this.of = of
    this.member = of.member()
    this.resumed = resumed
    this.actor = of.participant.ctx
    this.endpoint = endpoint
    this.scope = scope
  }

  /** Runs the role's program (see {@link runRole}). */
  run(): Effect.Effect<unknown, unknown> {
    return this.of.participant.spec.program(this.endpoint, this)
  }

  /** The program's run ended (see {@link runRole}). */
  finished(exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> {
    return this.of.participant.finished(this.of, exit, this.scope)
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

/** The program of the fiber's run (its `CurrentRole`). */
const run = Effect.flatMap(CurrentRole, (current) => (current as RoleContext).run())

/** The end of the fiber's run. */
const finish = (exit: Exit.Exit<unknown, unknown>) =>
  Effect.flatMap(CurrentRole, (current) => (current as RoleContext).finished(exit))

/**
 * A role's program as its fiber runs it, the same effect for every run: the run is the fiber's `CurrentRole` (set
 * before the fiber starts), so that a live session keeps no closures and no effects of its own to start and end it.
 *
 * @example
 * // const fiber = yield* Effect.forkDetach(runRole)
 * // fiber.setContext(Context.add(fiber.context, CurrentRole, new RoleContext(session, false, endpoint, scope)))
 */
export const runRole: Effect.Effect<void, unknown> = Effect.onExit(run, finish) as Effect.Effect<void, unknown>

/**
 * {@link runRole} with its program inside `wrap` (a span, when the system traces).
 *
 * @example
 * // Effect.forkDetach(runRoleWithin((program) => Effect.withSpan(program, "session Ask/C")))
 */
export const runRoleWithin = (
  wrap: (program: Effect.Effect<unknown, unknown>) => Effect.Effect<unknown, unknown>
): Effect.Effect<void, unknown> => Effect.onExit(wrap(run), finish) as Effect.Effect<void, unknown>
