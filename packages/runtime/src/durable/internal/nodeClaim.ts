/**
 * One live process per node name and storage. A node's durable work (the sessions it coordinates, its durable
 * actors and their messages) is found in storage by its node name: two live processes of one name on one storage
 * would both recover it, run its `once` effects again and deliver its messages again. So a process claims its node
 * name in `troupe_nodes` before it runs any durable work of the node, and holds it until its storage closes:
 *
 * - No row, or the name given up (its holder's storage closed): the claim is taken at once.
 * - A holder on this host: alive or dead is known at once (its pid, and the start time of the process with that
 *   pid: see `holder.ts`). Alive: refused, {@link NodeNameTaken} (who holds it, since when, what to do). Dead (killed,
 *   crashed): taken over at once, so a restart right after kill -9 works.
 * - A holder on another host: its heartbeat (written every third of the lease) is watched for up to the lease
 *   (`Storage` option `nodeLease`, default 10 s): it moves, the holder is alive and the claim is refused; it does
 *   not, the holder is taken for dead and taken over.
 *
 * A takeover adds one to the row's epoch and writes a new token. Every write batch of a holder first reads its
 * token in its transaction (`FOR KEY SHARE` on PostgreSQL, and the takeover locks the row `FOR UPDATE` first, so that
 * a takeover waits for the batch and every later batch sees it; SQLite serialises writers): a holder taken over while
 * it was stalled or cut from the database (so that its heartbeat stopped) finds another token, commits nothing more,
 * and every later write of its storage fails with {@link NodeFenced}. Its heartbeat finds it too. A holder stalled in
 * the middle of a batch would hold that lock, and the takeover, for as long as its connection lives: the server ends a
 * batch's transaction once it is idle for the lease (`idle_in_transaction_session_timeout`, set for the transaction by
 * the check). A holder busy in a long batch (waiting for another transaction's lock, a slow disk) is not idle, and
 * still beats: the heartbeat's `UPDATE` does not wait for the batch's `FOR KEY SHARE` (it waited for a `FOR SHARE`,
 * and a successor saw the heartbeat stand still, presumed the holder dead and took its name over). Nor does the
 * storage's pool: the claim, the heartbeat and the release run on a connection of their own (`claimConnection.ts`);
 * only the check runs on the batch's connection, in its transaction, where its lock must be.
 *
 * @example
 * ```ts
 * const own = new ClaimConnection(sql)
 * const claims = new NodeClaims({ sql, own, location: "troupe.db", leaseMillis: 10_000, fork })
 * yield* claims.claim("n1") // fails with NodeNameTaken while another live process holds "n1" on troupe.db
 * ```
 */
import { Deferred, Effect, Exit, Fiber, Schema } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import type { ClaimConnection } from "./claimConnection.ts"
import { fromSqlError, NodeFenced, NodeHolder, NodeNameTaken, StorageCorrupt, type StorageError } from "./errors.ts"
import { liveness, self } from "./holder.ts"

/** The tokens of the claims held by storages of this process (a holder that is this process is alive while its token is here). */
const heldHere = new Set<string>()

interface Row {
  readonly epoch: number | string
  readonly token: string
  readonly holder: string
  readonly heartbeat_at: number | string
  readonly released: number | string
}

interface Held {
  readonly node: string
  readonly token: string
  readonly epoch: number
}

/** What a write batch asks before it writes (see `Writer`): whether this storage's claims still hold. */
export interface Fence {
  /** Run first in a batch's transaction: the claim lost, if one was (nothing of the batch is to be written then). */
  readonly check: Effect.Effect<NodeFenced | undefined, SqlError.SqlError>
  /** The claim this storage lost, once it lost one: every write fails with it. */
  readonly lost: NodeFenced | undefined
}

const decodeHolder = Schema.decodeUnknownExit(NodeHolder)

/** The node names a storage of this process holds. */
export class NodeClaims implements Fence {
  private readonly sql: SqlClient.SqlClient
  private readonly own: ClaimConnection
  private readonly location: string
  private readonly leaseMillis: number
  private readonly fork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
  private readonly claims = new Map<string, Deferred.Deferred<Held, StorageError>>()
  private readonly held = new Map<string, Held>()
  private heartbeat: Fiber.Fiber<void> | undefined
  private closed = false
  /** Told once, when this storage loses a claim (see `fencing.ts`). */
  private readonly onLost = new Set<(error: NodeFenced) => void>()
  lost: NodeFenced | undefined = undefined

  constructor(options: {
    /** The storage's client: the check runs in its batches' transactions. */
    readonly sql: SqlClient.SqlClient
    /**
     * The connection of the claim, the heartbeat and the release (closed by its owner): on PostgreSQL one of their
     * own, so that they never wait behind the storage's traffic for a connection (see `claimConnection.ts`).
     */
    readonly own: ClaimConnection
    readonly location: string
    readonly leaseMillis: number
    /** Runs the heartbeat (with the storage's services), until {@link release}. */
    readonly fork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
  }) {
    this.sql = options.sql
    this.own = options.own
    this.location = options.location
    this.leaseMillis = options.leaseMillis
    this.fork = options.fork
  }

  /**
   * Claims `node` for this process, once per storage (later calls wait for the first one's outcome): fails with
   * {@link NodeNameTaken} while another live process holds it, or with {@link NodeFenced} once this one lost it.
   */
  claim(node: string): Effect.Effect<void, StorageError> {
    return Effect.suspend(() => {
      if (this.lost !== undefined) return Effect.fail(this.lost)
      const known = this.claims.get(node)
      if (known !== undefined) return Effect.asVoid(Deferred.await(known))
      const deferred = Deferred.makeUnsafe<Held, StorageError>()
      this.claims.set(node, deferred)
      return this.acquire(node).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            if (Exit.isSuccess(exit)) {
              if (this.closed) return
              this.held.set(node, exit.value)
              heldHere.add(exit.value.token)
              this.heartbeat ??= this.fork(this.beat)
            } else this.claims.delete(node) // refused: a later call tries again
            Deferred.doneUnsafe(deferred, exit)
          })
        ),
        Effect.asVoid
      )
    })
  }

  /** The check every write batch runs first in its transaction (nothing when this storage holds no claim). */
  get check(): Effect.Effect<NodeFenced | undefined, SqlError.SqlError> {
    if (this.lost !== undefined) return Effect.succeed(this.lost)
    if (this.held.size === 0) return Effect.succeed(undefined)
    const sql = this.sql
    const held = [...this.held.values()]
    const nodes = held.map((h) => h.node)
    const rows = sql.onDialectOrElse({
      // a holder stalled (or cut off) in this transaction would hold the takeover's UPDATE behind its share lock for as
      // long as its connection lives (SIGSTOP: for ever): the server ends the transaction once it is idle for the lease
      pg: () => sql<Row & { node: string }>`SELECT node, epoch, token, holder, heartbeat_at, released,
        set_config('idle_in_transaction_session_timeout', ${String(Math.ceil(this.leaseMillis))}, true) AS stall
        FROM troupe_nodes WHERE ${sql.in("node", nodes)} FOR KEY SHARE`,
      orElse: () => sql<
        Row & { node: string }
      >`SELECT node, epoch, token, holder, heartbeat_at, released FROM troupe_nodes
        WHERE ${sql.in("node", nodes)}`
    })
    return Effect.map(rows, (rows) => {
      for (const h of held) {
        const row = rows.find((r) => r.node === h.node)
        if (row === undefined || row.token !== h.token) return this.lose(h.node, row)
      }
      return undefined
    })
  }

  /** Calls `f` once this storage lost a claim (at once if it has); the answer cancels it. */
  whenLost(f: (error: NodeFenced) => void): () => void {
    if (this.lost !== undefined) {
      f(this.lost)
      return () => {}
    }
    this.onLost.add(f)
    return () => this.onLost.delete(f)
  }

  /** Waits while this storage holds its claims; fails with {@link NodeFenced} once it lost one. */
  get fenced(): Effect.Effect<never, NodeFenced> {
    return Effect.callback<never, NodeFenced>((resume) => {
      const cancel = this.whenLost((error) => resume(Effect.fail(error)))
      return Effect.sync(cancel)
    })
  }

  /** Gives every held name up (the storage closes): a successor takes them at once. */
  get release(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.closed = true
      const held = [...this.held.values()]
      this.held.clear()
      for (const h of held) heldHere.delete(h.token)
      const stop = this.heartbeat === undefined ? Effect.void : Fiber.interrupt(this.heartbeat)
      return Effect.andThen(
        stop,
        Effect.forEach(
          held,
          (h) =>
            this.own
              .run((sql) => sql`UPDATE troupe_nodes SET released = 1 WHERE node = ${h.node} AND token = ${h.token}`)
              .pipe(
                Effect.catchCause((cause) =>
                  Effect.logWarning(
                    `Could not give the node name ${JSON.stringify(h.node)} up on ${this.location}: a successor on this host takes it at once all the same, one elsewhere once its lease ran out`,
                    cause
                  )
                )
              ),
          { discard: true }
        )
      )
    })
  }

  private lose(node: string, row: (Row & { node: string }) | undefined): NodeFenced {
    if (this.lost !== undefined) return this.lost
    const holder = row === undefined ? undefined : decodeHolder(parse(row.holder))
    this.lost = new NodeFenced({
      node,
      location: this.location,
      ...(holder !== undefined && Exit.isSuccess(holder) ? { holder: holder.value } : {})
    })
    for (const h of this.held.values()) heldHere.delete(h.token)
    const lost = this.lost
    this.fork(Effect.logError(lost.message))
    const told = [...this.onLost]
    this.onLost.clear()
    for (const f of told) f(lost)
    return lost
  }

  private readonly read = (node: string) =>
    this.own
      .run(
        (sql) => sql<Row>`SELECT epoch, token, holder, heartbeat_at, released FROM troupe_nodes WHERE node = ${node}`
      )
      .pipe(Effect.map((rows) => rows[0]))

  private acquire(node: string): Effect.Effect<Held, StorageError> {
    const self_ = this
    const own = this.own
    return Effect.gen(function* () {
      for (;;) {
        const token = crypto.randomUUID()
        const holder = JSON.stringify(self(Date.now()))
        const row = yield* self_.read(node)
        if (row === undefined) {
          const inserted = yield* own.run(
            (sql) => sql<{ epoch: number | string }>`INSERT INTO troupe_nodes
              (node, epoch, token, holder, heartbeat_at, released)
              VALUES (${node}, 1, ${token}, ${holder}, ${Date.now()}, 0)
              ON CONFLICT (node) DO NOTHING RETURNING epoch`
          )
          if (inserted.length > 0) return { node, token, epoch: 1 }
          continue // another process inserted it meanwhile: look again
        }
        let dead = Number(row.released) === 1
        /** The holder's death was presumed from a heartbeat that stood still (another host), not seen. */
        let presumed = false
        if (!dead) {
          const recorded = yield* self_.holderOf(node, row)
          const alive = liveness(recorded, () => heldHere.has(row.token))
          if (alive === "alive") return yield* self_.taken(node, recorded, row)
          presumed = alive !== "dead"
          dead = alive === "dead" || (yield* self_.watch(node, row)) === "dead"
          if (!dead) continue // the row changed hands meanwhile: look again
        }
        const taken = yield* own.run((sql) => {
          const update = sql<{ epoch: number | string }>`UPDATE troupe_nodes
            SET epoch = epoch + 1, token = ${token}, holder = ${holder}, heartbeat_at = ${Date.now()}, released = 0
            WHERE node = ${node} AND token = ${row.token} RETURNING epoch`
          // on PostgreSQL the row is locked `FOR UPDATE` first: the lock that waits for the holder's batch in flight
          // (its check's `FOR KEY SHARE`, which the update's own lock would not wait for)
          return sql.onDialectOrElse({
            pg: () =>
              sql.withTransaction(
                Effect.andThen(sql`SELECT 1 FROM troupe_nodes WHERE node = ${node} FOR UPDATE`, update)
              ),
            orElse: () => update
          })
        })
        if (taken.length > 0) {
          // (a holder on this host whose process is gone, a restart after kill -9, is routine: said at debug level)
          if (presumed)
            yield* Effect.logWarning(
              `Took the node name ${JSON.stringify(node)} on ${self_.location} over from a holder presumed dead: its heartbeat stood still for the lease (${row.holder})`
            )
          else if (Number(row.released) !== 1)
            yield* Effect.logDebug(
              `Took the node name ${JSON.stringify(node)} on ${self_.location} over from a holder whose process is gone (${row.holder})`
            )
          return { node, token, epoch: Number(taken[0]!.epoch) }
        }
        // another process took it over first: look again
      }
    }).pipe(
      Effect.catchTag("SqlError", (error) => Effect.fail(fromSqlError(error, "node claim", undefined, this.location)))
    )
  }

  /**
   * Watches the heartbeat of a holder this process cannot see (another host) for up to the lease: `"alive"` (refused
   * with `NodeNameTaken`) when it moves, `"dead"` when it does not, `"changed"` when the row changed hands or was given up.
   */
  private watch(node: string, first: Row): Effect.Effect<"dead" | "changed", StorageError | SqlError.SqlError> {
    const self_ = this
    return Effect.gen(function* () {
      const since = Date.now()
      for (;;) {
        yield* Effect.sleep(Math.max(20, Math.min(500, self_.leaseMillis / 10)))
        const row = yield* self_.read(node)
        if (row === undefined || row.token !== first.token || Number(row.released) === 1) return "changed"
        if (String(row.heartbeat_at) !== String(first.heartbeat_at))
          return yield* self_.taken(node, yield* self_.holderOf(node, row), row)
        if (Date.now() - since >= self_.leaseMillis) return "dead"
      }
    })
  }

  private holderOf(node: string, row: Row): Effect.Effect<NodeHolder, StorageCorrupt> {
    const decoded = decodeHolder(parse(row.holder))
    return Exit.isSuccess(decoded)
      ? Effect.succeed(decoded.value)
      : Effect.fail(
          new StorageCorrupt({
            location: this.location,
            detail: `the holder of the node name ${JSON.stringify(node)} in troupe_nodes does not decode (${row.holder})`
          })
        )
  }

  private taken(node: string, holder: NodeHolder, row: Row): Effect.Effect<never, NodeNameTaken> {
    return Effect.fail(
      new NodeNameTaken({
        node,
        location: this.location,
        holder,
        heartbeatAgoMillis: Math.max(0, Date.now() - Number(row.heartbeat_at))
      })
    )
  }

  /** Every third of the lease: each held claim's heartbeat, which also finds a claim lost. */
  private get beat(): Effect.Effect<void> {
    const self_ = this
    return Effect.gen(function* () {
      for (;;) {
        yield* Effect.sleep(Math.max(10, self_.leaseMillis / 3))
        if (self_.lost !== undefined) return
        for (const h of [...self_.held.values()]) {
          const beaten = yield* Effect.exit(
            self_.own.run(
              (sql) => sql<{ epoch: number | string }>`UPDATE troupe_nodes SET heartbeat_at = ${Date.now()}
                WHERE node = ${h.node} AND token = ${h.token} RETURNING epoch`
            )
          )
          // a database that does not answer is the batches' to report; a row that is no longer ours is lost
          if (Exit.isSuccess(beaten) && beaten.value.length === 0 && self_.held.has(h.node)) {
            const row = yield* Effect.orElseSucceed(self_.read(h.node), () => undefined)
            self_.lose(h.node, row === undefined ? undefined : { ...row, node: h.node })
            return
          }
        }
      }
    })
  }
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
