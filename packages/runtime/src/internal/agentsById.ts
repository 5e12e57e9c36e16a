/**
 * Agents addressed by id, for the Promise API: the agent of kind `chat` and id `conversation-42` is the
 * top-level actor `/user/chat:conversation-42`. A message to it finds the live actor in the registry, or
 * spawns it (once, however many messages arrive at the same time); once it has terminated, the next
 * message spawns it again. An id may be any non-empty string: characters that actor names do not allow are
 * written `~XX` (UTF-8, hex).
 */
import type { Effect } from "effect"
import type { ActorRef } from "../ActorRef.ts"
import { type ActorSystem, type ActorSystemService, InvalidName, internal, NameTaken } from "../ActorSystem.ts"
import type { Behavior } from "../Behavior.ts"
import type * as Protocol from "../Protocol.ts"
import type { Agents, AgentsOptions, Ref } from "../Troupe.ts"

type Run = <A, E>(effect: Effect.Effect<A, E, ActorSystem>) => Promise<A>

const validKind = /^[A-Za-z0-9_.@+=-]+$/
const plainCharacter = /^[A-Za-z0-9_.@:+=$-]$/
const encoder = new TextEncoder()

/** The actor name's part for an id: characters actor names do not allow are written `~XX`. */
export const encodeId = (id: string): string =>
  Array.from(id, (c) =>
    plainCharacter.test(c)
      ? c
      : Array.from(encoder.encode(c), (byte) => `~${byte.toString(16).toUpperCase().padStart(2, "0")}`).join("")
  ).join("")

/** The id an actor name's part stands for. */
export const decodeId = (encoded: string): string => decodeURIComponent(encoded.replaceAll("~", "%"))

export class AgentsById {
  private readonly kinds = new Set<string>()
  private readonly spawning = new Map<string, Promise<ActorRef<Protocol.Any>>>()

  private readonly system: ActorSystemService
  private readonly run: Run

  constructor(system: ActorSystemService, run: Run) {
    this.system = system
    this.run = run
  }

  /** The live actor at a path, if any. */
  private live(path: string): ActorRef<Protocol.Any> | undefined {
    const cell = internal(this.system).registry.get(path)
    return cell === undefined || cell.isTerminated ? undefined : (cell.ref as unknown as ActorRef<Protocol.Any>)
  }

  kind<P extends Protocol.Any, S, R>(
    kind: string,
    make: (id: string) => Behavior<P, S, R>,
    options: AgentsOptions,
    ref: (path: string, resolve: () => Promise<ActorRef<P>>, current: () => ActorRef<P> | undefined) => Ref<P>
  ): Agents<P> {
    if (!validKind.test(kind)) throw new InvalidName({ name: kind })
    if (this.kinds.has(kind)) throw new Error(`There are already agents of kind ${JSON.stringify(kind)}`)
    this.kinds.add(kind)
    const prefix = `/user/${kind}:`
    return {
      kind,
      get: (id) => {
        const name = `${kind}:${encodeId(id)}`
        const path = `/user/${name}`
        const current = () => this.live(path) as ActorRef<P> | undefined
        const resolve = (): Promise<ActorRef<P>> => {
          if (id === "") return Promise.reject(new InvalidName({ name: id }))
          const live = current()
          if (live !== undefined) return Promise.resolve(live)
          let spawning = this.spawning.get(path) as Promise<ActorRef<P>> | undefined
          if (spawning === undefined) {
            spawning = this.spawn(name, path, () => make(id), options).finally(() => this.spawning.delete(path))
            this.spawning.set(path, spawning)
          }
          return spawning
        }
        return ref(path, resolve, current)
      },
      ids: () =>
        [...internal(this.system).registry.entries()]
          .filter(([path, cell]) => path.startsWith(prefix) && !cell.isTerminated)
          .map(([path]) => decodeId(path.slice(prefix.length)))
    }
  }

  private async spawn<P extends Protocol.Any, S, R>(
    name: string,
    path: string,
    make: () => Behavior<P, S, R>,
    options: AgentsOptions
  ): Promise<ActorRef<P>> {
    const behavior = make()
    try {
      return await this.run(this.system.spawn(behavior, { ...options, name }) as Effect.Effect<ActorRef<P>, unknown>)
    } catch (error) {
      // spawned by someone else meanwhile (with `spawn` and the same name, say): use that one
      const live = error instanceof NameTaken ? this.live(path) : undefined
      if (live === undefined) throw error
      return live as ActorRef<P>
    }
  }
}
