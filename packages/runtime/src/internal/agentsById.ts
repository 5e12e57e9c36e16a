/**
 * Agents addressed by id, for the Promise API: a thin layer over entities (`Entity`). The agent of kind
 * `chat` and id `conversation-42` is the entity `/user/chat/conversation-42`: a message to it reaches the
 * live actor, or spawns it (once, however many messages arrive at the same time, from its stored state when
 * the kind is durable); once it has stopped or been passivated, the next message spawns it again. An id may
 * be any non-empty string (see `Entity.path` for how it is written in the path).
 */
import { Duration, type Effect } from "effect"
import type { ActorRef } from "../ActorRef.ts"
import { type ActorSystem, type ActorSystemService, InvalidName } from "../ActorSystem.ts"
import type { Behavior } from "../Behavior.ts"
import * as Entity from "../durable/Entity.ts"
import type * as Protocol from "../Protocol.ts"
import type { Agents, AgentsOptions, Ref } from "../Troupe.ts"

type Run = <A, E>(effect: Effect.Effect<A, E, ActorSystem>) => Promise<A>

const validKind = /^[A-Za-z0-9_.@+=-]+$/

/** The kinds of agents of one troupe, each name taken once. */
export class AgentsById {
  private readonly kinds = new Set<string>()

  private readonly system: ActorSystemService
  private readonly run: Run

  constructor(system: ActorSystemService, run: Run) {
    this.system = system
    this.run = run
  }

  /** The agents of an entity kind; throws if its name is not valid or another kind of this troupe has it. */
  kind<P extends Protocol.Any, R>(
    kind: Entity.Kind<P, R>,
    ref: (path: string, resolve: () => Promise<ActorRef<P>>, stop: () => Promise<void>) => Ref<P>
  ): Agents<P> {
    if (!validKind.test(kind.name)) throw new InvalidName({ name: kind.name })
    if (this.kinds.has(kind.name)) throw new Error(`There are already agents of kind ${JSON.stringify(kind.name)}`)
    this.kinds.add(kind.name)
    return {
      kind: kind.name,
      get: (id) => {
        let entity: Promise<ActorRef<P>> | undefined
        const resolve = (): Promise<ActorRef<P>> =>
          id === ""
            ? Promise.reject(new InvalidName({ name: id }))
            : (entity ??= this.run(Entity.ref(kind, id) as Effect.Effect<ActorRef<P>>))
        const stop = () => this.run(Entity.passivate(kind, id))
        return ref(Entity.path(kind, id), resolve, stop)
      },
      ids: () => Entity.idsUnsafe(this.system, kind)
    }
  }
}

/**
 * The entity kind behind `troupe.agents(name, make, options)`: not durable, passivated only if asked. Its
 * protocol is the behaviours' own, known once the first one is made.
 */
export const plainKind = <P extends Protocol.Any, R>(
  name: string,
  make: (id: string) => Behavior<P, unknown, R>,
  options: AgentsOptions
): Entity.Kind<P, R> => {
  let protocol: P | undefined
  return {
    name,
    get protocol() {
      return protocol as P
    },
    behavior: (id) => {
      const behavior = make(id)
      protocol = behavior.protocol
      return behavior
    },
    passivateAfterMillis:
      options.passivateAfter === undefined || options.passivateAfter === "never"
        ? undefined
        : Duration.toMillis(options.passivateAfter),
    mailbox: options.mailbox,
    supervision: undefined,
    restart: options.restart ?? "transient",
    shutdownTimeout: options.shutdownTimeout,
    durable: false
  }
}
