/**
 * Refs to sharded actors inside messages: a sharded ref travels as its address (node `"cluster"`, path
 * `/cluster/<type>/<id>`), and any runner that hosts the type decodes it back into a cluster-routed ref. So a
 * session's messages (a Join carries every role's ref and the coordinator's) cross runners as they cross nodes.
 */
import { Effect, type Scope } from "effect"
import { type ActorRef, setClusterResolver } from "../../ActorRef.ts"
import type * as Protocol from "../../Protocol.ts"

type MakeRef = (id: string) => ActorRef<Protocol.Any>

/** The path of the sharded actor `id` of type `type`: `/cluster/<type>/<id>`. */
export const pathOf = (type: string, id: string): string => `/cluster/${type}/${id}`

/** The sharded types this process can make refs to, by name (the latest registration of a name wins). */
const types = new Map<string, Array<MakeRef>>()

/** The ref an address of a sharded actor stands for, or why there is none in this process. */
export const resolve = (
  address: { readonly path: string; readonly protocol: string },
  protocol: Protocol.Any
): ActorRef<Protocol.Any> | string => {
  const match = /^\/cluster\/([^/]+)\/(.*)$/s.exec(address.path)
  if (match === null) return `${address.path} is not the path of a sharded actor (/cluster/<type>/<id>)`
  const make = types.get(match[1]!)?.at(-1)
  if (make === undefined) {
    return `the sharded type ${match[1]} is not hosted in this process: provide Sharded.layer for it on every runner`
  }
  const ref = make(match[2]!)
  return ref.protocol.name === protocol.name
    ? ref
    : `the sharded actor ${address.path} speaks ${ref.protocol.name}, not ${protocol.name}`
}

/** Lets refs to the actors of type `name` be decoded in this process, while the scope is open. */
export const register = (name: string, make: MakeRef): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      let makers = types.get(name)
      if (makers === undefined) types.set(name, (makers = []))
      makers.push(make)
      setClusterResolver(resolve)
    }),
    () =>
      Effect.sync(() => {
        const makers = types.get(name)
        const i = makers?.lastIndexOf(make) ?? -1
        if (i >= 0) makers!.splice(i, 1)
        if (makers?.length === 0) types.delete(name)
        if (types.size === 0) setClusterResolver(undefined)
      })
  )
