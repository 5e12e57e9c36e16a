/** The typed errors of durable storage: each names what failed, where, and what to do. */
import { Cause, Option, Schema } from "effect"
import type { SqlError } from "effect/sql"

const where = (persistenceId: string | undefined) =>
  persistenceId === undefined ? "" : ` (persistence id ${JSON.stringify(persistenceId)})`

/**
 * The database could not be used: it is down or unreachable, locked by another process, full, or it refused
 * the statement. Nothing was acknowledged on a state this write carried: the actor is not started, or it
 * crashes and its supervisor restarts it from what was committed.
 */
export class StorageUnavailable extends Schema.TaggedError<StorageUnavailable>()("StorageUnavailable", {
  reason: Schema.Literals(["unreachable", "locked", "full", "failed"]),
  operation: Schema.String,
  persistenceId: Schema.optional(Schema.String),
  detail: Schema.String
}) {
  override get message() {
    const hint = {
      unreachable: "check that the database server is running and reachable; Troupe retries when the actor restarts",
      locked: "another process holds the database; SQLite is for one process, use PostgreSQL for several",
      full: "free disk space (or raise the database's size limit); nothing after the last commit was acknowledged",
      failed: "see the detail; the database refused the statement"
    }[this.reason]
    return `Storage ${this.reason} during ${this.operation}${where(this.persistenceId)}: ${this.detail}. What to do: ${hint}`
  }
}

/** The database was migrated by a newer version of Troupe than this one: this version will not touch it. */
export class StorageTooNew extends Schema.TaggedError<StorageTooNew>()("StorageTooNew", {
  found: Schema.Number,
  known: Schema.Number
}) {
  override get message() {
    return `The database has Troupe storage schema version ${this.found}, newer than the ${this.known} this version knows. What to do: run the newer Troupe against it, or point this one at another database`
  }
}

/** The file is not a database Troupe can read (not SQLite, or damaged). */
export class StorageCorrupt extends Schema.TaggedError<StorageCorrupt>()("StorageCorrupt", {
  location: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `${this.location} is not a usable database: ${this.detail}. What to do: restore it from a backup, or point Troupe at another file (it creates a fresh one)`
  }
}

/**
 * Two live instances wrote the same persistence id: the stored state moved on since this instance read it.
 * This instance crashes (its supervisor restarts it from the newer state); nothing it did since was committed.
 */
export class PersistenceConflict extends Schema.TaggedError<PersistenceConflict>()("PersistenceConflict", {
  persistenceId: Schema.String,
  expected: Schema.Number,
  found: Schema.Number
}) {
  override get message() {
    return `Persistence id ${JSON.stringify(this.persistenceId)} was written by another instance (revision ${this.found}, this one had read ${this.expected}). What to do: run one instance per persistence id (get-or-spawn by id does), or use one node per id`
  }
}

/**
 * A durable actor's state did not encode with its schema when it was to be written: a defect of the
 * behaviour (its handler returned a state its `state` schema does not describe). The actor crashes with it.
 */
export class StateNotEncodable extends Schema.TaggedError<StateNotEncodable>()("StateNotEncodable", {
  persistenceId: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `The state of ${JSON.stringify(this.persistenceId)} does not encode with its schema: ${this.detail}. What to do: make the handler return a state the behaviour's \`state\` schema describes`
  }
}

/**
 * A stored state does not decode with the behaviour's `state` schema (a deploy changed the schema without a
 * version bump and migration, or the data was damaged). The actor is not started.
 */
export class StateNotDecodable extends Schema.TaggedError<StateNotDecodable>()("StateNotDecodable", {
  persistenceId: Schema.String,
  version: Schema.Number,
  issue: Schema.String
}) {
  override get message() {
    return `The stored state of ${JSON.stringify(this.persistenceId)} (version ${this.version}) does not decode: ${this.issue}. What to do: bump \`version\` in Durable.persistent and add a migration from ${this.version} (\`migrations: { ${this.version}: (old) => new }\`), or fix the stored data`
  }
}

/**
 * A stored state has a version this behaviour cannot bring to its own: newer than it (written by a later
 * deploy), or older with no migration from it. The actor is not started.
 */
export class StateVersionUnknown extends Schema.TaggedError<StateVersionUnknown>()("StateVersionUnknown", {
  persistenceId: Schema.String,
  found: Schema.Number,
  current: Schema.Number
}) {
  override get message() {
    return this.found > this.current
      ? `The stored state of ${JSON.stringify(this.persistenceId)} has version ${this.found}, newer than this behaviour's ${this.current}. What to do: run the newer code (roll forward), or add that version to this one`
      : `The stored state of ${JSON.stringify(this.persistenceId)} has version ${this.found} and there is no migration from it to ${this.current}. What to do: add \`migrations: { ${this.found}: (old) => new }\` (each migration goes one version up)`
  }
}

/** Another live actor of this process already holds the persistence id. The new one is not started. */
export class PersistenceIdInUse extends Schema.TaggedError<PersistenceIdInUse>()("PersistenceIdInUse", {
  persistenceId: Schema.String,
  path: Schema.String,
  holder: Schema.String
}) {
  override get message() {
    return `Persistence id ${JSON.stringify(this.persistenceId)} is held by ${this.holder}, so ${this.path} was not started. What to do: stop the holder first, or address the actor by id (Entity) so that there is only one`
  }
}

/** A durable message was sent to an actor that is not durable (it has nowhere to keep it). */
export class NotDurable extends Schema.TaggedError<NotDurable>()("NotDurable", { recipient: Schema.String }) {
  override get message() {
    return `${this.recipient} is not a durable actor of this node: a durable message needs one. What to do: make its behaviour durable (Durable.persistent) or address it as an entity`
  }
}

/** A durable session with this id exists already (running or ended): start it under another id, or recover it. */
export class SessionIdTaken extends Schema.TaggedError<SessionIdTaken>()("SessionIdTaken", {
  session: Schema.String,
  status: Schema.String
}) {
  override get message() {
    return `A durable session ${JSON.stringify(this.session)} exists already (${this.status}). What to do: give the new session another id, or get this one's outcome (DurableSession.outcome) or recover it (DurableSession.recover)`
  }
}

/** The process that holds a node name on a storage, as it recorded itself. */
export const NodeHolder = Schema.Struct({
  pid: Schema.Number,
  host: Schema.String,
  /** The host's boot id (Linux), to tell a process of this boot from one before a reboot. */
  boot: Schema.String,
  /** The process's start time on its host (Linux ticks since boot), to tell it from a later process with its pid. */
  processStart: Schema.String,
  /** When it took the name (epoch milliseconds). */
  startedAt: Schema.Number
})
export type NodeHolder = typeof NodeHolder.Type

const holderText = (holder: NodeHolder) =>
  `process ${holder.pid} on host ${holder.host} (since ${new Date(holder.startedAt).toISOString()})`

/**
 * Another live process holds this node name on this storage: it recovers and runs the node's durable sessions,
 * actors and messages, and a second one would run their `once` effects and deliver their messages again. Nothing was
 * started or written by this process for the node.
 */
export class NodeNameTaken extends Schema.TaggedError<NodeNameTaken>()("NodeNameTaken", {
  node: Schema.String,
  location: Schema.String,
  holder: NodeHolder,
  /** How long ago the holder last said it is alive (its heartbeat), in milliseconds of the database's clock. */
  heartbeatAgoMillis: Schema.Number
}) {
  override get message() {
    return `The node name ${JSON.stringify(this.node)} is held on ${this.location} by ${holderText(this.holder)}, which is alive (heartbeat ${Math.round(this.heartbeatAgoMillis)} ms ago): one process per node name and storage. What to do: stop that process first (a process that stopped or was killed gives the name up, at once on its host or when its lease runs out elsewhere), or give this one another node name (ActorSystem.layer({ node }))`
  }
}

/**
 * Another process took this node name on this storage over (this process was presumed dead: its lease ran out while
 * it was stalled or cut from the database): from then on the storage refuses every write of this process, which
 * must stop. Nothing it wrote after the takeover was committed.
 */
export class NodeFenced extends Schema.TaggedError<NodeFenced>()("NodeFenced", {
  node: Schema.String,
  location: Schema.String,
  /** Who holds the name now (absent when its row was removed). */
  holder: Schema.optional(NodeHolder)
}) {
  override get message() {
    const by =
      this.holder === undefined
        ? "the storage no longer records this process as its holder"
        : `it is now held by ${holderText(this.holder)}`
    return `This process lost the node name ${JSON.stringify(this.node)} on ${this.location}: ${by}, and its writes are refused. What to do: stop this process (its successor runs the node's durable work); if it was stalled, give the storage's lease (Storage option nodeLease) more time than its stalls`
  }
}

/**
 * An option of a storage layer is not what it may be (`nodeLease: "10 sec"`, `maxConnections: 0`, ...): `option` names
 * it, `detail` says what was given and what to give. Nothing was opened or connected.
 *
 * @example
 * ```ts
 * Storage.layerSqlite({ filename: "troupe.db", nodeLease: -1 }) // fails to build: InvalidStorageOptions, nodeLease
 * ```
 */
export class InvalidStorageOptions extends Schema.TaggedError<InvalidStorageOptions>()("InvalidStorageOptions", {
  option: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `The storage was not opened: its option ${this.option} ${this.detail}`
  }
}

/**
 * An option of `Durable.persistent` is not what it may be: an `id` that is not a non-empty string, a `version` that is
 * not a whole number of at least 1 (the database keeps it in an integer column), `migrations` that are not
 * functions by version. Thrown where the behaviour is made, naming the option.
 *
 * @example
 * ```ts
 * Durable.persistent(counter, { id: "counter", state: Schema.Number, version: 1.5 }) // throws InvalidDurableOptions
 * ```
 */
export class InvalidDurableOptions extends Schema.TaggedError<InvalidDurableOptions>()("InvalidDurableOptions", {
  persistenceId: Schema.String,
  option: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `The durable behaviour of persistence id ${JSON.stringify(this.persistenceId)}: its option ${this.option} ${this.detail}`
  }
}

/**
 * What is wrong with a durable behaviour's `id`, `version` or `migrations` (see {@link InvalidDurableOptions}), as
 * `{ option, detail }`; `undefined` when nothing is.
 *
 * @example
 * ```ts
 * badDurableOptions({ id: "cart-1", version: 0 }) // { option: "version", detail: "is 0: ..." }
 * ```
 */
export const badDurableOptions = (options: {
  readonly id?: unknown
  readonly version?: unknown
  readonly migrations?: unknown
}): { readonly option: string; readonly detail: string } | undefined => {
  if (typeof options.id !== "string" || options.id === "") {
    return {
      option: "id",
      detail: `is ${JSON.stringify(options.id) ?? String(options.id)}: give the persistence id, a non-empty string (e.g. "cart-42")`
    }
  }
  const version = options.version
  if (version !== undefined && !(typeof version === "number" && Number.isSafeInteger(version) && version >= 1)) {
    return {
      option: "version",
      detail: `is ${typeof version === "number" ? String(version) : JSON.stringify(version)}: give a whole number of at least 1 (1 by default; one more each time the state's shape changes, with a migration)`
    }
  }
  const migrations = options.migrations
  if (migrations !== undefined) {
    const wrong =
      migrations === null || typeof migrations !== "object"
        ? "migrations"
        : Object.entries(migrations).find(([, f]) => typeof f !== "function")?.[0]
    if (wrong !== undefined) {
      return {
        option: wrong === "migrations" ? "migrations" : `migrations[${wrong}]`,
        detail: "is not a function: give { [version]: (stored) => theStateOfTheNextVersion }"
      }
    }
  }
  return undefined
}

/** Why a storage operation can fail (and a storage layer: {@link InvalidStorageOptions} too). */
export type StorageError =
  | InvalidStorageOptions
  | StorageUnavailable
  | StorageTooNew
  | StorageCorrupt
  | PersistenceConflict
  | NodeNameTaken
  | NodeFenced

/** Why writing a durable actor's state can fail. */
export type WriteError = StorageError | StateNotEncodable

const fullText = /full|SQLITE_FULL|disk quota|no space/i
const corruptText = /not a database|malformed|SQLITE_NOTADB|SQLITE_CORRUPT/i

const causeText = (error: SqlError.SqlError): string => {
  const inner = error.reason.cause
  const text = inner instanceof Error ? inner.message : typeof inner === "string" ? inner : ""
  return text.length > 0 ? text : (error.reason.message ?? error.message)
}

/** The typed error of a failed SQL operation. */
export const fromSqlError = (
  error: SqlError.SqlError,
  operation: string,
  persistenceId?: string,
  location?: string
): StorageUnavailable | StorageCorrupt => {
  const detail = causeText(error)
  if (corruptText.test(detail)) return new StorageCorrupt({ location: location ?? "the database", detail })
  const reason = fullText.test(detail)
    ? "full"
    : error.reason._tag === "ConnectionError" || error.reason._tag === "AuthenticationError"
      ? "unreachable"
      : error.reason._tag === "LockTimeoutError"
        ? "locked"
        : "failed"
  return new StorageUnavailable({
    reason,
    operation,
    detail,
    ...(persistenceId === undefined ? {} : { persistenceId })
  })
}

/**
 * What a failed decode says, for the `issue` or `detail` of an error: its first error's message, or the
 * whole cause when it has no error (a defect, an interruption).
 *
 * @example
 * const exit = Schema.decodeUnknownExit(Spec)(json)
 * if (Exit.isFailure(exit)) return new StorageCorrupt({ location, detail: issueOf(exit.cause) })
 */
export const issueOf = (cause: Cause.Cause<unknown>): string =>
  Option.match(Cause.findErrorOption(cause), {
    onNone: () => Cause.pretty(cause),
    onSome: (error) => (error instanceof Error ? error.message : String(error))
  })

/** A short text for a cause, for the `detail` of errors made from defects. */
export const describe = (cause: unknown): string =>
  Cause.isCause(cause) ? Cause.pretty(cause) : cause instanceof Error ? cause.message : String(cause)
