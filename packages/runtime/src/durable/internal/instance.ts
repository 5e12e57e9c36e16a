/**
 * The live instance of a durable actor: its latest state, what the writer needs to store it, and its place
 * in the node's table of persistence ids (one live instance per id and process). Loading a stored state runs
 * the behaviour's migrations and decodes it, or fails typed; the actor is never started on a half-read state.
 */
import { Exit, Schema } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import * as ActorRefs from "../../ActorRef.ts"
import { internal as systemInternal } from "../../ActorSystem.ts"
import type { ActorContext } from "../../Behavior.ts"
import * as ClusterRefs from "../../internal/clusterRefs.ts"
import type { SystemImpl } from "../../internal/system.ts"
import type * as Protocol from "../../Protocol.ts"
import type { StorageError } from "./errors.ts"
import { describe, issueOf, type WriteError } from "./errors.ts"
import type { Tracked, Writer } from "./writer.ts"
import type { Write } from "./writes.ts"

/** What an instance needs of its storage. */
export interface StorageAccess {
  readonly sql: SqlClient.SqlClient
  readonly writer: Writer
  readonly failed: (operation: string, persistenceId?: string) => (error: SqlError.SqlError) => StorageError
}

/** How a durable actor's state is stored and brought back (the resolved options of `Durable.persistent`). */
export interface StateSpec<S> {
  readonly persistenceId: string
  readonly version: number
  /** JSON of a state. */
  readonly encode: (state: S) => unknown
  /** A state from its JSON at the current version. */
  readonly decode: (json: unknown) => Exit.Exit<S, Schema.SchemaError>
  readonly migrations: { readonly [from: number]: (stored: unknown) => unknown }
}

/** The state of a durable actor as its cell holds it: its latest state and what storing it needs. */
export class Instance<S> implements Tracked {
  readonly persistenceId: string
  readonly version: number
  revision: number
  latest: S
  dirty = false
  inFlight = false
  ops: Array<Write> = []
  waiters: Array<(error: WriteError | undefined) => void> = []
  afterCommit: Array<() => void> = []
  failure: WriteError | undefined = undefined
  /** The last inbox row read in this incarnation: the next read starts after it (unless {@link rewound}). */
  cursor = 0
  /**
   * The next inbox read starts from the first row again: a message was found stored but not handled when it was sent
   * again, and its row may lie behind the cursor (committed late by another process: a row's sequence number is taken
   * when it is inserted, not when it commits).
   */
  rewound = false
  /** The ids of the inbox messages handled in this incarnation whose "handled" mark is not committed yet. */
  readonly unmarked = new Set<string>()
  /** A `$Inbox` message is in the mailbox. */
  poked = false
  /** The same successful exit for every handler that keeps this instance as the state. */
  readonly same: Exit.Exit<Instance<S>>
  readonly writer: Writer
  readonly storage: StorageAccess
  private readonly spec: StateSpec<S>

  constructor(spec: StateSpec<S>, storage: StorageAccess, latest: S, revision: number) {
    this.spec = spec
    this.persistenceId = spec.persistenceId
    this.version = spec.version
    this.storage = storage
    this.writer = storage.writer
    this.latest = latest
    this.revision = revision
    this.same = Exit.succeed(this)
  }

  encode(): string {
    return JSON.stringify(this.spec.encode(this.latest))
  }
}

/** The live instances of a node, by persistence id. */
const tableKey = { name: "@troupe/runtime/Durable/instances" }

export const instances = (system: SystemImpl): Map<string, { readonly path: string; instance: Instance<unknown> }> =>
  system.extension(tableKey, () => new Map())

/** The instance of a persistence id live in this system, if any. */
export const liveInstance = (ctx: ActorContext<Protocol.Any>, persistenceId: string): Instance<unknown> | undefined =>
  instances(systemInternal(ctx.system)).get(persistenceId)?.instance

/** Decodes with refs resolved by the actor's system (refs inside a state come back as refs). */
export const withRefs = <A>(system: SystemImpl, f: () => A): A =>
  ActorRefs.withResolver(
    (address, protocol) =>
      address.node === system.node
        ? system.localRef(address.path, protocol)
        : address.node === "cluster"
          ? ClusterRefs.ofSystem(system).resolve(address, protocol)
          : (system.remoteRef(address.node, address.path, protocol) ?? `node ${address.node} is not connected`),
    f
  )

/** Why a stored state could not be brought back. */
export type LoadError =
  | { readonly _tag: "NotDecodable"; readonly version: number; readonly issue: string }
  | { readonly _tag: "UnknownVersion"; readonly found: number }

/** Brings a stored state to the current version with the migrations, then decodes it. */
export const revive = <S>(
  spec: StateSpec<S>,
  system: SystemImpl,
  stored: { readonly version: number; readonly state: unknown }
): Exit.Exit<S, LoadError> => {
  let json = stored.state
  let version = stored.version
  if (version > spec.version) return Exit.fail({ _tag: "UnknownVersion", found: version })
  while (version < spec.version) {
    const migrate = spec.migrations[version]
    if (migrate === undefined) return Exit.fail({ _tag: "UnknownVersion", found: stored.version })
    try {
      json = migrate(json)
    } catch (error) {
      return Exit.fail({
        _tag: "NotDecodable",
        version,
        issue: `its migration from version ${version} threw: ${describe(error)}`
      })
    }
    version++
  }
  const decoded = withRefs(system, () => spec.decode(json))
  if (Exit.isSuccess(decoded)) return Exit.succeed(decoded.value)
  return Exit.fail({
    _tag: "NotDecodable",
    version: stored.version,
    issue: issueOf(decoded.cause)
  })
}

interface JsonCodec<S> {
  readonly encode: (state: S) => unknown
  readonly decode: (json: unknown) => Exit.Exit<S, Schema.SchemaError>
}

const jsonCodecs = new WeakMap<object, JsonCodec<unknown>>()

/** The JSON codec of a state schema (made once per schema): encode (throws when a state does not fit) and decode. */
export const jsonCodec = <S, I>(schema: Schema.Codec<S, I>): JsonCodec<S> => {
  let codec = jsonCodecs.get(schema)
  if (codec === undefined) {
    const json = Schema.toCodecJson(schema as Schema.Codec<S, I, never, never>)
    codec = {
      encode: Schema.encodeSync(json) as (state: unknown) => unknown,
      decode: Schema.decodeUnknownExit(json) as (json: unknown) => Exit.Exit<unknown, Schema.SchemaError>
    }
    jsonCodecs.set(schema, codec)
  }
  return codec as JsonCodec<S>
}
